// Dominant colours: k-means in CIELAB (perceptually uniform, so clusters
// match what people call one colour), each cluster named after the nearest
// CSS named colour by CIEDE2000.
//
// Deterministic: k-means++ seeding from a fixed seed, so the same pixels give
// the same palette. Thread safety: pure functions.
#pragma once

#include <opencv2/core.hpp>

#include <string>
#include <vector>

namespace atelier::vision {

struct Lab {
  double L = 0, a = 0, b = 0;
};

struct PaletteColor {
  std::string hex;     // "#1f2a44"
  std::string name;    // nearest CSS named colour, e.g. "midnightblue"
  std::string family;  // coarse family for captions: "navy", "red", "beige", ...
  double share = 0;    // fraction of the region's pixels
  Lab lab;
};

// Up to k colours of `roi` within `bgr`, largest share first. Clusters closer
// than a just-noticeable difference are merged. With `mask` (8-bit, the size
// of `bgr`), only its non-zero pixels count: a product's colours without the
// studio background around it.
std::vector<PaletteColor> dominant_colors(const cv::Mat& bgr, cv::Rect roi, int k = 5,
                                          const cv::Mat& mask = cv::Mat());

// The sRGB triple of a CSS named colour; false for an unknown name.
bool named_color_rgb(const std::string& name, int* r, int* g, int* b);
// Nearest named colour to an sRGB triple (0..255).
const std::string& nearest_color_name(int r, int g, int b);
Lab srgb_to_lab(int r, int g, int b);
double ciede2000(const Lab& x, const Lab& y);
// A plain-language family for a named colour ("navy", "red", "grey", ...).
std::string color_family(const Lab& lab);

}  // namespace atelier::vision
