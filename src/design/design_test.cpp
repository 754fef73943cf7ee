// Evidence for the local design engine on ../shared/data/rooms (27 photos):
// for every style preset, the output keeps the input's layout (edge-map F1,
// Canny at the input's thresholds) and its colours move toward the preset's
// palette (mean CIEDE2000 to the nearest palette colour falls). Writes a
// contact sheet (input, edges, three styles) to the build directory.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <filesystem>
#include <fstream>
#include <map>

#include "design/control.h"
#include "design/presets.h"
#include "engines/local/recolor.h"
#include "vision/colors.h"

namespace atelier::design {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> rooms() {
  std::vector<fs::path> out;
  for (auto& e : fs::recursive_directory_iterator(std::string(ATELIER_SOURCE_DIR) +
                                                  "/../shared/data/rooms")) {
    const auto ext = e.path().extension().string();
    if (ext == ".jpg" || ext == ".jpeg" || ext == ".png") out.push_back(e.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<engines::LabColor> palette_of(const StylePreset& s) {
  std::vector<engines::LabColor> p;
  for (const auto& name : s.palette) {
    int r, g, b;
    EXPECT_TRUE(vision::named_color_rgb(name, &r, &g, &b)) << name;
    auto lab = vision::srgb_to_lab(r, g, b);
    p.push_back({lab.L, lab.a, lab.b});
  }
  return p;
}

engines::DesignRequest request_for(const cv::Mat& bgr, const StylePreset& s, std::uint64_t seed) {
  engines::DesignRequest r;
  r.bgr = bgr;
  r.palette = palette_of(s);
  r.warmth = s.tone.warmth;
  r.saturation = s.tone.saturation;
  r.contrast = s.tone.contrast;
  r.brightness = s.tone.brightness;
  r.strength = 0.75;
  r.seed = seed;
  return r;
}

// Mean CIEDE2000 from a grid of the image's pixels to the nearest palette colour.
double palette_distance(const cv::Mat& bgr, const std::vector<engines::LabColor>& pal) {
  double sum = 0;
  int n = 0;
  for (int y = 0; y < bgr.rows; y += 8)
    for (int x = 0; x < bgr.cols; x += 8) {
      const auto& p = bgr.at<cv::Vec3b>(y, x);
      const auto lab = vision::srgb_to_lab(p[2], p[1], p[0]);
      double best = 1e9;
      for (const auto& c : pal) best = std::min(best, vision::ciede2000(lab, {c.L, c.a, c.b}));
      sum += best;
      ++n;
    }
  return sum / n;
}

cv::Mat load_room(const fs::path& p) {
  cv::Mat bgr = cv::imread(p.string(), cv::IMREAD_COLOR);
  // The service downscales uploads to its max resolution; the evidence runs at 640.
  const double f = 640.0 / std::max(bgr.cols, bgr.rows);
  if (f < 1) cv::resize(bgr, bgr, cv::Size(), f, f, cv::INTER_AREA);
  return bgr;
}

TEST(Presets, TenStylesAndPrompts) {
  EXPECT_GE(styles().size(), 10u);
  for (const auto& s : styles()) {
    EXPECT_GE(s.palette.size(), 4u) << s.id;
    for (const auto& r : room_types()) {
      auto p = build_prompt(s.id, r.id, "");
      ASSERT_TRUE(p.is_ok());
      EXPECT_NE(p->positive.find(r.name), std::string::npos);
      EXPECT_NE(p->negative.find("watermark"), std::string::npos);
    }
  }
  auto p = build_prompt("japandi", "bedroom", "  with a reading nook ");
  ASSERT_TRUE(p.is_ok());
  EXPECT_TRUE(p->positive.ends_with(", with a reading nook")) << p->positive;
  EXPECT_EQ(build_prompt("gothic", "bedroom", "").status().code(), Code::invalid_argument);
  EXPECT_EQ(build_prompt("modern", "garage", "").status().code(), Code::invalid_argument);
  EXPECT_EQ(build_prompt("modern", "bedroom", std::string(501, 'x')).status().code(),
            Code::invalid_argument);
  EXPECT_EQ(build_prompt("modern", "bedroom", "a\x01").status().code(), Code::invalid_argument);
}

TEST(Control, MedianThresholdsAndF1) {
  cv::Mat img(100, 100, CV_8UC3, cv::Scalar(40, 40, 40));
  cv::rectangle(img, cv::Rect(20, 20, 60, 60), cv::Scalar(220, 220, 220), cv::FILLED);
  auto e = canny(img);
  EXPECT_GT(cv::countNonZero(e.edges), 150);
  EXPECT_DOUBLE_EQ(edge_f1(e.edges, e.edges), 1.0);
  cv::Mat shifted;
  cv::Mat m = (cv::Mat_<double>(2, 3) << 1, 0, 6, 0, 1, 0);
  cv::warpAffine(e.edges, shifted, m, e.edges.size());
  EXPECT_LT(edge_f1(e.edges, shifted, 2), 0.6);  // a layout moved 6 px does not count as kept
  auto fixed = canny(img, {10, 30});
  EXPECT_EQ(fixed.low, 10);
  EXPECT_EQ(fixed.high, 30);
}

TEST(RecolorEngine, KeepsLayoutAndMovesTowardEveryPresetsPalette) {
  const auto paths = rooms();
  ASSERT_GE(paths.size(), 20u);  // 27 photos here (the README there says 49)
  engines::RecolorEngine engine;
  std::map<std::string, std::pair<double, double>> f1;        // style -> (sum, min)
  std::map<std::string, std::pair<double, double>> distance;  // style -> (input, output) sums
  std::map<std::string, int> closer;
  std::vector<cv::Mat> inputs;
  for (const auto& p : paths) inputs.push_back(load_room(p));
  for (const auto& s : styles()) {
    f1[s.id] = {0, 1};
    for (const auto& in : inputs) {
      auto out = engine.generate(request_for(in, s, 7), WorkContext{});
      ASSERT_TRUE(out.is_ok()) << out.status().message();
      cv::Mat img = cv::imdecode(std::vector<unsigned char>(out->image.begin(), out->image.end()),
                                 cv::IMREAD_COLOR);
      ASSERT_EQ(img.size(), in.size());
      const auto e_in = canny(in);
      const auto e_out = canny(img, {e_in.low, e_in.high});
      const double f = edge_f1(e_in.edges, e_out.edges);
      f1[s.id].first += f;
      f1[s.id].second = std::min(f1[s.id].second, f);
      const auto pal = palette_of(s);
      const double d_in = palette_distance(in, pal), d_out = palette_distance(img, pal);
      distance[s.id].first += d_in;
      distance[s.id].second += d_out;
      if (d_out < d_in) ++closer[s.id];
    }
  }
  const double n = static_cast<double>(inputs.size());
  for (const auto& s : styles()) {
    const double mean_f1 = f1[s.id].first / n;
    std::printf("%-13s edge F1 mean %.3f min %.3f | palette dE00 %.2f -> %.2f (closer on %d/%zu)\n",
                s.id.c_str(), mean_f1, f1[s.id].second, distance[s.id].first / n,
                distance[s.id].second / n, closer[s.id], inputs.size());
    EXPECT_GE(mean_f1, 0.8) << s.id;
    EXPECT_GE(f1[s.id].second, 0.6) << s.id;
    EXPECT_LT(distance[s.id].second, distance[s.id].first) << s.id;
    EXPECT_GE(closer[s.id], static_cast<int>(0.9 * n)) << s.id;
  }
}

TEST(RecolorEngine, SeededOutputIsByteIdentical) {
  const auto paths = rooms();
  const cv::Mat in = load_room(paths[3]);
  engines::RecolorEngine engine;
  const auto& s = *find_style("bohemian");
  auto a = engine.generate(request_for(in, s, 42), WorkContext{});
  auto b = engine.generate(request_for(in, s, 42), WorkContext{});
  auto c = engine.generate(request_for(in, s, 43), WorkContext{});
  ASSERT_TRUE(a.is_ok() && b.is_ok() && c.is_ok());
  EXPECT_EQ(a->image, b->image);
  EXPECT_NE(a->image, c->image);
}

TEST(RecolorEngine, ContactSheet) {
  // For people: input | edges | scandinavian | industrial | art-deco, one row per room.
  const auto paths = rooms();
  engines::RecolorEngine engine;
  std::vector<cv::Mat> rows;
  for (std::size_t i = 0; i < paths.size(); i += 8) {
    cv::Mat in = load_room(paths[i]);
    cv::resize(in, in, cv::Size(320, static_cast<int>(320.0 * in.rows / in.cols)));
    std::vector<cv::Mat> cells{in};
    cv::Mat edges;
    cv::cvtColor(canny(in).edges, edges, cv::COLOR_GRAY2BGR);
    cells.push_back(edges);
    for (const char* style : {"scandinavian", "industrial", "art-deco"}) {
      auto out = engine.generate(request_for(in, *find_style(style), 1), WorkContext{});
      ASSERT_TRUE(out.is_ok());
      cells.push_back(cv::imdecode(std::vector<unsigned char>(out->image.begin(), out->image.end()),
                                   cv::IMREAD_COLOR));
    }
    cv::Mat row;
    cv::hconcat(cells, row);
    cv::resize(row, row, cv::Size(1600, static_cast<int>(1600.0 * row.rows / row.cols)));
    rows.push_back(row);
  }
  cv::Mat sheet;
  cv::vconcat(rows, sheet);
  const std::string path = fs::current_path().string() + "/design-contact-sheet.png";
  ASSERT_TRUE(cv::imwrite(path, sheet));
  std::printf("contact sheet: %s\n", path.c_str());
}

}  // namespace
}  // namespace atelier::design
