#include "wardrobe/tagger.h"

#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

namespace atelier::wardrobe {
namespace {

// A product shot: an item on a plain, slightly noisy studio background.
cv::Mat product(const cv::Scalar& item, const cv::Scalar& background = cv::Scalar(245, 245, 245)) {
  cv::Mat m(334, 239, CV_8UC3, background);
  cv::Mat noise(m.size(), CV_8UC3);
  cv::randn(noise, cv::Scalar::all(0), cv::Scalar::all(2));
  cv::add(m, noise, m);
  cv::rectangle(m, cv::Rect(60, 40, 120, 250), item, cv::FILLED);
  return m;
}

TEST(Tagger, FindsTheItemOnAPlainBackground) {
  const Foreground fg = find_foreground(product(cv::Scalar(128, 0, 0)));
  EXPECT_TRUE(fg.plain_background);
  EXPECT_NEAR(fg.box.x, 60, 2);
  EXPECT_NEAR(fg.box.y, 40, 2);
  EXPECT_NEAR(fg.box.width, 120, 3);
  EXPECT_NEAR(fg.box.height, 250, 3);
  // A square crop keeps all of it, padded with the background.
  const cv::Mat sq = square_crop(product(cv::Scalar(128, 0, 0)), fg);
  EXPECT_EQ(sq.rows, sq.cols);
  EXPECT_GE(sq.rows, 250);
}

TEST(Tagger, AScenePhotoKeepsTheWholeFrame) {
  cv::Mat scene(300, 300, CV_8UC3);
  cv::randu(scene, cv::Scalar::all(0), cv::Scalar::all(255));
  const Foreground fg = find_foreground(scene);
  EXPECT_FALSE(fg.plain_background);
  EXPECT_EQ(fg.box, cv::Rect(0, 0, 300, 300));
}

TEST(Tagger, PatternsOfSyntheticFabrics) {
  cv::Mat solid = product(cv::Scalar(40, 40, 160));
  const Foreground fs = find_foreground(solid);
  ASSERT_TRUE(detect_pattern(solid, fs).has_value());
  EXPECT_EQ(detect_pattern(solid, fs)->value, "solid");

  cv::Mat stripes = product(cv::Scalar(40, 40, 160));
  for (int y = 40; y < 290; y += 12)
    cv::rectangle(stripes, cv::Rect(60, y, 120, 6), cv::Scalar(20, 20, 20), cv::FILLED);
  const Foreground fst = find_foreground(stripes);
  ASSERT_TRUE(detect_pattern(stripes, fst).has_value());
  EXPECT_EQ(detect_pattern(stripes, fst)->value, "striped");

  cv::Mat checks = product(cv::Scalar(40, 40, 160));
  for (int y = 40; y < 290; y += 20)
    for (int x = 60; x < 180; x += 20)
      if (((x - 60) / 20 + (y - 40) / 20) % 2)
        cv::rectangle(checks, cv::Rect(x, y, 10, 10) & cv::Rect(60, 40, 120, 250),
                      cv::Scalar(20, 20, 20), cv::FILLED);
  const Foreground fc = find_foreground(checks);
  ASSERT_TRUE(detect_pattern(checks, fc).has_value());
  EXPECT_NE(detect_pattern(checks, fc)->value, "solid");
  EXPECT_NE(detect_pattern(checks, fc)->value, "striped");
}

TEST(Tagger, TypesImplyTraitsAndCategories) {
  ASSERT_NE(type_traits("jeans"), nullptr);
  EXPECT_EQ(type_traits("jeans")->formality, "casual");
  EXPECT_EQ(type_traits("coat")->warmth, "warm");
  EXPECT_EQ(type_traits("sandals")->seasons, (std::vector<std::string>{"spring", "summer"}));
  EXPECT_EQ(type_traits("spacesuit"), nullptr);
  EXPECT_EQ(category_of_type("jeans"), "bottom");
  EXPECT_EQ(category_of_type("earrings"), "accessory");
  EXPECT_EQ(category_of_type("spacesuit"), "");
}

}  // namespace
}  // namespace atelier::wardrobe
