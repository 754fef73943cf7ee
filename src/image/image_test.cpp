#include "image/image.h"

#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace atelier::image {
namespace {

std::string encode(const cv::Mat& m, const char* ext) {
  std::vector<unsigned char> buf;
  cv::imencode(ext, m, buf);
  return std::string(buf.begin(), buf.end());
}

// A JPEG with an EXIF APP1 segment carrying `orientation`, little-endian TIFF.
std::string with_exif_orientation(const std::string& jpeg, int orientation) {
  std::string tiff("II*\0\x08\0\0\0", 8);
  tiff += std::string("\x01\0", 2);                                      // one IFD entry
  tiff += std::string("\x12\x01\x03\0\x01\0\0\0", 8);                    // 0x0112 SHORT count 1
  tiff += std::string(1, char(orientation)) + std::string("\0\0\0", 3);  // value
  tiff += std::string("\0\0\0\0", 4);                                    // no next IFD
  std::string app1 = std::string("Exif\0\0", 6) + tiff;
  const std::size_t len = app1.size() + 2;
  std::string seg = "\xFF\xE1";
  seg += char(len >> 8);
  seg += char(len & 0xff);
  return jpeg.substr(0, 2) + seg + app1 + jpeg.substr(2);
}

TEST(Image, ProbesEachFormatFromHeaderOnly) {
  cv::Mat m(30, 50, CV_8UC3, cv::Scalar(10, 20, 30));
  for (const char* ext : {".jpg", ".png", ".webp"}) {
    std::string bytes = encode(m, ext);
    // PNG and WebP state their size in the first bytes; JPEG after its APP segments.
    const std::size_t head = std::string_view(ext) == ".jpg" ? bytes.size() / 2 : 64;
    auto h = probe(std::string_view(bytes).substr(0, head));
    ASSERT_TRUE(h.is_ok()) << ext << ": " << h.status().message();
    EXPECT_EQ(h->width, 50) << ext;
    EXPECT_EQ(h->height, 30) << ext;
  }
  EXPECT_EQ(probe("GIF89a....").status().code(), Code::unsupported_media);
  EXPECT_EQ(probe("").status().code(), Code::unsupported_media);
}

TEST(Image, RefusesOversizedBeforeDecoding) {
  cv::Mat m(100, 100, CV_8UC3, cv::Scalar(0, 0, 0));
  auto r = decode(encode(m, ".png"), {9999, 0});
  EXPECT_EQ(r.status().code(), Code::payload_too_large);
  EXPECT_TRUE(decode(encode(m, ".png"), {10000, 0}).is_ok());
}

TEST(Image, AppliesExifOrientationAndDownscales) {
  cv::Mat m(20, 40, CV_8UC3, cv::Scalar(0, 0, 0));
  m(cv::Rect(0, 0, 10, 20)).setTo(cv::Scalar(255, 255, 255));  // white stripe on the left
  const std::string jpeg = with_exif_orientation(encode(m, ".jpg"), 6);
  auto h = probe(jpeg);
  ASSERT_TRUE(h.is_ok());
  EXPECT_EQ(h->orientation, 6);
  auto img = decode(jpeg, {1 << 20, 0});
  ASSERT_TRUE(img.is_ok()) << img.status().message();
  EXPECT_EQ(img->bgr.cols, 20);  // rotated 90 degrees clockwise: 40x20 -> 20x40
  EXPECT_EQ(img->bgr.rows, 40);
  EXPECT_GT(img->bgr.at<cv::Vec3b>(2, 10)[0], 200);  // the left stripe is now on top
  EXPECT_LT(img->bgr.at<cv::Vec3b>(38, 10)[0], 50);

  auto small = decode(jpeg, {1 << 20, 10});
  ASSERT_TRUE(small.is_ok());
  EXPECT_EQ(small->bgr.rows, 10);
  EXPECT_EQ(small->width, 20);  // callers keep the upright original size
  EXPECT_NEAR(small->scale, 0.25, 1e-9);
  EXPECT_EQ(small->sha256_hex.size(), 64u);
}

TEST(Image, TruncatedAndCorruptDataAreClearErrors) {
  cv::Mat m(64, 64, CV_8UC3, cv::Scalar(1, 2, 3));
  cv::randu(m, 0, 255);
  std::string jpeg = encode(m, ".jpg");
  auto t = decode(jpeg.substr(0, jpeg.size() / 2), {1 << 20, 0});
  EXPECT_EQ(t.status().code(), Code::invalid_argument);
  EXPECT_NE(t.status().message().find("truncated"), std::string::npos);
  std::string png = encode(m, ".png");
  EXPECT_EQ(decode(png.substr(0, png.size() / 2), {1 << 20, 0}).status().code(),
            Code::invalid_argument);
  // Header claims 0 pixels.
  std::string zero = png;
  for (int i = 16; i < 24; ++i) zero[i] = 0;
  EXPECT_EQ(probe(zero).status().code(), Code::invalid_argument);
}

// JPEGs are decoded by libjpeg straight to BGR; the pixels are OpenCV's to
// the bit (same library, same IDCT), colour and grey, full and reduced scale.
// Corrupt data in the middle of a stream decodes around it, as OpenCV would.
TEST(Image, JpegDecodesToTheSamePixelsAsOpenCv) {
  cv::Mat colour(301, 457, CV_8UC3), grey(120, 88, CV_8UC1);
  cv::randu(colour, cv::Scalar::all(0), cv::Scalar::all(255));
  cv::GaussianBlur(colour, colour, cv::Size(9, 9), 3);  // photo-like, not noise
  cv::randu(grey, 0, 255);
  for (const cv::Mat& m : {colour, grey}) {
    const std::string bytes = encode(m, ".jpg");
    cv::Mat raw(1, int(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
    auto full = decode(bytes, {1 << 24, 0});
    ASSERT_TRUE(full.is_ok()) << full.status().message();
    cv::Mat want = cv::imdecode(raw, cv::IMREAD_COLOR);
    ASSERT_EQ(full->bgr.type(), CV_8UC3);
    EXPECT_EQ(cv::norm(full->bgr, want, cv::NORM_INF), 0);
  }
  const std::string bytes = encode(colour, ".jpg");
  cv::Mat raw(1, int(bytes.size()), CV_8U, const_cast<char*>(bytes.data()));
  auto half = decode(bytes, {1 << 24, 150});  // 457 px: decoded at 1/2, then resized
  ASSERT_TRUE(half.is_ok());
  EXPECT_EQ(half->width, 457);
  EXPECT_EQ(half->bgr.cols, 150);
  std::string corrupt = bytes;
  for (std::size_t i = corrupt.size() / 2; i < corrupt.size() / 2 + 40; ++i) corrupt[i] = '\x55';
  auto damaged = decode(corrupt, {1 << 24, 0});
  cv::Mat raw2(1, int(corrupt.size()), CV_8U, corrupt.data());
  cv::Mat cv_damaged = cv::imdecode(raw2, cv::IMREAD_COLOR);
  ASSERT_EQ(damaged.is_ok(), !cv_damaged.empty());
  if (damaged.is_ok()) {
    EXPECT_EQ(cv::norm(damaged->bgr, cv_damaged, cv::NORM_INF), 0);
  }
}

// Issue 12, defect 7: large JPEGs are decoded at a reduced scale, never at
// full size, and the caller's coordinates stay those of the full image.
TEST(Image, Issue12LargeJpegDecodedReducedInFullSizeCoordinates) {
  cv::Mat m(3000, 2400, CV_8UC3);
  cv::randu(m, cv::Scalar::all(0), cv::Scalar::all(255));
  const std::string bytes = encode(m, ".jpg");
  DecodeBudget budget(100'000'000);
  Limits l;
  l.max_side = 512;
  l.budget = &budget;
  auto img = decode(bytes, l);
  ASSERT_TRUE(img.is_ok()) << img.status().message();
  EXPECT_EQ(img->width, 2400);
  EXPECT_EQ(img->height, 3000);
  EXPECT_EQ(img->bgr.rows, 512);
  EXPECT_EQ(img->bgr.cols, 410);
  EXPECT_NEAR(img->scale, 410.0 / 2400, 1e-9);
  EXPECT_EQ(budget.in_use(), 0) << "the lease ends with the decode";
  // Rotated by EXIF: the upright size swaps.
  auto rot = decode(with_exif_orientation(bytes, 6), l);
  ASSERT_TRUE(rot.is_ok());
  EXPECT_EQ(rot->width, 3000);
  EXPECT_EQ(rot->height, 2400);
  EXPECT_EQ(rot->bgr.cols, 512);
}

// Issue 12, defect 7: the pixels decoded at once across requests are bounded;
// a decode that finds no room within its wait answers unavailable.
TEST(Image, Issue12DecodeBudgetBoundsPixelsInFlight) {
  DecodeBudget budget(1000);
  auto a = budget.acquire(600, std::chrono::milliseconds(0));
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ(budget.in_use(), 600);
  auto b = budget.acquire(600, std::chrono::milliseconds(0));
  ASSERT_FALSE(b.is_ok());
  EXPECT_EQ(b.status().code(), Code::unavailable);
  EXPECT_EQ(budget.refused(), 1u);
  {
    auto c = budget.acquire(400, std::chrono::milliseconds(0));
    ASSERT_TRUE(c.is_ok());
    EXPECT_EQ(budget.in_use(), 1000);
  }
  EXPECT_EQ(budget.in_use(), 600);
  // A request larger than the whole budget waits for it to be empty.
  auto big = budget.acquire(5000, std::chrono::milliseconds(0));
  EXPECT_FALSE(big.is_ok());
  { auto gone = std::move(a).value(); }
  EXPECT_EQ(budget.in_use(), 0);
  EXPECT_TRUE(budget.acquire(5000, std::chrono::milliseconds(0)).is_ok());
  EXPECT_EQ(budget.in_use(), 0);
}

}  // namespace
}  // namespace atelier::image
