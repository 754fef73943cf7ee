// The baseline for bench/vision: YOLOX-nano's bare OpenCV DNN forward on one
// letterboxed photo (blob + forward, nothing else), as a caller of OpenCV
// would run it. Prints the median and p95 over N runs in milliseconds.
//
// With --ceiling SECONDS it prints instead what batching can gain at best on
// this machine: bare forwards per second from one net using OpenCV's threads
// (an unbatched server's best) and from one net per core running at once,
// each single-threaded (a batched server's best), and their ratio.
// Usage: bench_vision_raw MODEL.onnx IMAGE [runs | --ceiling SECONDS]
#include <opencv2/core/utility.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <thread>
#include <vector>

#include "engines/local/yolox.h"

namespace {

// Runs one body on the calling thread inside a parallel region, so OpenCV runs
// the forward's own parallel loops serially (it never nests them).
class Serial final : public cv::ParallelLoopBody {
 public:
  explicit Serial(std::function<void()> f) : f_(std::move(f)) {}
  void operator()(const cv::Range&) const override { f_(); }

 private:
  std::function<void()> f_;
};

// Forwards per second from `lanes` threads, each with its own net, for `seconds`.
double forwards_per_second(const char* model, const cv::Mat& input, int lanes, double seconds) {
  std::vector<cv::dnn::Net> nets;
  const cv::Mat blob =
      cv::dnn::blobFromImage(input, 1.0, cv::Size(416, 416), cv::Scalar(), false, false);
  for (int k = 0; k < lanes; ++k) {
    nets.push_back(cv::dnn::readNetFromONNX(model));
    nets.back().setInput(blob);
    nets.back().forward();  // lazy initialisation
  }
  std::atomic<long> count{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int k = 0; k < lanes; ++k) {
    threads.emplace_back([&, k] {
      auto pass = [&] {
        nets[k].setInput(blob);
        nets[k].forward();
      };
      while (!stop) {
        if (lanes > 1) {
          cv::parallel_for_(cv::Range(0, 1), Serial(pass));
        } else {
          pass();
        }
        ++count;
      }
    });
  }
  const auto t = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& th : threads) th.join();
  return double(count) /
         std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

int ceiling(const char* model, const cv::Mat& input, double seconds) {
  const int cores = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const double one = forwards_per_second(model, input, 1, seconds);
  const double per_core = forwards_per_second(model, input, cores, seconds);
  std::printf("ceiling_fps one_net %.2f per_core_nets %.2f ratio %.2f\n", one, per_core,
              per_core / one);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s MODEL.onnx IMAGE [runs]\n", argv[0]);
    return 2;
  }
  cv::dnn::Net net = cv::dnn::readNetFromONNX(argv[1]);
  cv::Mat img = cv::imread(argv[2]);
  float ratio = 1;
  cv::Mat input = atelier::engines::YoloxDetector::letterbox(img, 416, &ratio);
  if (argc > 4 && std::strcmp(argv[3], "--ceiling") == 0)
    return ceiling(argv[1], input, std::atof(argv[4]));
  const int runs = argc > 3 ? std::atoi(argv[3]) : 50;
  std::vector<double> ms;
  for (int i = 0; i < runs + 3; ++i) {
    auto t = std::chrono::steady_clock::now();
    cv::Mat blob =
        cv::dnn::blobFromImage(input, 1.0, cv::Size(416, 416), cv::Scalar(), false, false);
    net.setInput(blob);
    cv::Mat out = net.forward();
    const double d =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
    if (i >= 3) ms.push_back(d);  // the first forwards initialise lazily
  }
  std::sort(ms.begin(), ms.end());
  std::printf("raw_forward_ms p50 %.2f p95 %.2f\n", ms[ms.size() / 2], ms[ms.size() * 95 / 100]);
  return 0;
}
