// The layout control: a Canny edge map, and the edge F1 that measures how
// well an output keeps the input's layout.
//
// Thread safety: pure functions.
#pragma once

#include <opencv2/core.hpp>

namespace atelier::design {

struct CannyOptions {
  int low = -1, high = -1;  // -1: from the image's median (sigma rule)
  double sigma = 0.33;
};

struct EdgeMap {
  cv::Mat edges;  // CV_8U, 255 on edges
  int low = 0, high = 0;
};

// Grayscale, 5x5 Gaussian blur, Canny; thresholds (1 -/+ sigma) x median
// unless given.
EdgeMap canny(const cv::Mat& bgr, const CannyOptions& opt = {});

// F1 of `test`'s edge pixels against `ref`'s, an edge counting as matched
// when the other map has one within `tolerance` pixels. 1 when neither has edges.
double edge_f1(const cv::Mat& ref, const cv::Mat& test, int tolerance = 2);

}  // namespace atelier::design
