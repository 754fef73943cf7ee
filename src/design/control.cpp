#include "design/control.h"

#include <opencv2/imgproc.hpp>

#include <algorithm>

namespace atelier::design {

EdgeMap canny(const cv::Mat& bgr, const CannyOptions& opt) {
  cv::Mat gray, blurred;
  if (bgr.channels() == 3)
    cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  else
    gray = bgr;
  cv::GaussianBlur(gray, blurred, cv::Size(5, 5), 0);
  EdgeMap m;
  if (opt.low >= 0 && opt.high >= 0) {
    m.low = opt.low;
    m.high = opt.high;
  } else {
    int hist[256] = {};
    for (int y = 0; y < blurred.rows; ++y) {
      const auto* row = blurred.ptr<std::uint8_t>(y);
      for (int x = 0; x < blurred.cols; ++x) ++hist[row[x]];
    }
    const long half = static_cast<long>(blurred.total()) / 2;
    long seen = 0;
    int median = 0;
    for (; median < 255; ++median) {
      seen += hist[median];
      if (seen > half) break;
    }
    m.low = std::max(0, static_cast<int>((1.0 - opt.sigma) * median));
    m.high = std::min(255, static_cast<int>((1.0 + opt.sigma) * median));
  }
  cv::Canny(blurred, m.edges, m.low, m.high);
  return m;
}

double edge_f1(const cv::Mat& ref, const cv::Mat& test, int tolerance) {
  const cv::Mat k =
      cv::getStructuringElement(cv::MORPH_ELLIPSE, cv::Size(2 * tolerance + 1, 2 * tolerance + 1));
  cv::Mat ref_wide, test_wide;
  cv::dilate(ref, ref_wide, k);
  cv::dilate(test, test_wide, k);
  const double n_test = cv::countNonZero(test), n_ref = cv::countNonZero(ref);
  if (n_test == 0 && n_ref == 0) return 1.0;
  if (n_test == 0 || n_ref == 0) return 0.0;
  cv::Mat hit_p, hit_r;
  cv::bitwise_and(test, ref_wide, hit_p);
  cv::bitwise_and(ref, test_wide, hit_r);
  const double precision = cv::countNonZero(hit_p) / n_test,
               recall = cv::countNonZero(hit_r) / n_ref;
  return precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0.0;
}

}  // namespace atelier::design
