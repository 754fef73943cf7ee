// The baseline for bench/vision: YOLOX-nano's bare OpenCV DNN forward on one
// letterboxed photo (blob + forward, nothing else), as a caller of OpenCV
// would run it. Prints the median and p95 over N runs in milliseconds.
// Usage: bench_vision_raw MODEL.onnx IMAGE [runs]
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "engines/local/yolox.h"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL.onnx IMAGE [runs]\n", argv[0]);
    return 2;
  }
  const int runs = argc > 3 ? std::atoi(argv[3]) : 50;
  cv::dnn::Net net = cv::dnn::readNetFromONNX(argv[1]);
  cv::Mat img = cv::imread(argv[2]);
  float ratio = 1;
  cv::Mat input = atelier::engines::YoloxDetector::letterbox(img, 416, &ratio);
  std::vector<double> ms;
  for (int i = 0; i < runs + 3; ++i) {
    auto t = std::chrono::steady_clock::now();
    cv::Mat blob = cv::dnn::blobFromImage(input, 1.0, cv::Size(416, 416), cv::Scalar(), false, false);
    net.setInput(blob);
    cv::Mat out = net.forward();
    const double d = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
    if (i >= 3) ms.push_back(d);  // the first forwards initialise lazily
  }
  std::sort(ms.begin(), ms.end());
  std::printf("raw_forward_ms p50 %.2f p95 %.2f\n", ms[ms.size() / 2], ms[ms.size() * 95 / 100]);
  return 0;
}
