// Local design engine latency at 512, 1024 and 1536 px (long side), on room
// photos from ../shared/data/rooms upscaled or downscaled to each size; the
// baseline printed beside it is the Canny control alone on the same image
// (the least any layout-preserving engine must do). Jobs per minute at 2
// workers come from bench/design/run.sh over HTTP.
//
// usage: bench_design [ROOMS_DIR] [--iters N]
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "design/control.h"
#include "design/presets.h"
#include "engines/local/recolor.h"
#include "vision/colors.h"

using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  std::string dir = std::string(ATELIER_SOURCE_DIR) + "/../shared/data/rooms";
  int iters = 5;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--iters") && i + 1 < argc)
      iters = std::atoi(argv[++i]);
    else
      dir = argv[i];
  }
  std::vector<cv::Mat> photos;
  for (auto& e : fs::recursive_directory_iterator(dir)) {
    const auto ext = e.path().extension();
    if (ext == ".jpg" || ext == ".png")
      photos.push_back(cv::imread(e.path().string(), cv::IMREAD_COLOR));
    if (photos.size() == 6) break;
  }
  const auto& style = *atelier::design::find_style("scandinavian");
  atelier::engines::DesignRequest base;
  for (const auto& n : style.palette) {
    int r, g, b;
    atelier::vision::named_color_rgb(n, &r, &g, &b);
    auto lab = atelier::vision::srgb_to_lab(r, g, b);
    base.palette.push_back({lab.L, lab.a, lab.b});
  }
  base.warmth = style.tone.warmth;
  base.saturation = style.tone.saturation;
  atelier::engines::RecolorEngine engine;
  std::printf("%-6s %12s %12s %10s %14s\n", "side", "engine_p50", "canny_p50", "ratio",
              "engine/min/core");
  for (int side : {512, 1024, 1536}) {
    std::vector<double> eng, can;
    for (const auto& p : photos) {
      cv::Mat img;
      const double f = static_cast<double>(side) / std::max(p.cols, p.rows);
      cv::resize(p, img, cv::Size(), f, f, f < 1 ? cv::INTER_AREA : cv::INTER_CUBIC);
      auto req = base;
      req.bgr = img;
      for (int i = 0; i < iters; ++i) {
        auto t0 = Clock::now();
        auto out = engine.generate(req, atelier::WorkContext{});
        auto t1 = Clock::now();
        (void)atelier::design::canny(img);
        auto t2 = Clock::now();
        if (!out.is_ok()) return 1;
        eng.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
        can.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
      }
    }
    std::sort(eng.begin(), eng.end());
    std::sort(can.begin(), can.end());
    const double e = eng[eng.size() / 2], c = can[can.size() / 2];
    std::printf("%-6d %10.1fms %10.1fms %9.1fx %14.0f\n", side, e, c, e / c, 60000.0 / e);
  }
  return 0;
}
