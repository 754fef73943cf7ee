#include "vision/colors.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>

#include "image/image.h"

namespace atelier::vision {

namespace {

struct Named {
  const char* name;
  int r, g, b;
};
constexpr Named kNamed[] = {
#include "vision/named_colors.inc"
};

}  // namespace

bool named_color_rgb(const std::string& name, int* r, int* g, int* b) {
  for (const auto& n : kNamed)
    if (name == n.name) {
      *r = n.r;
      *g = n.g;
      *b = n.b;
      return true;
    }
  return false;
}

namespace {

double srgb_to_linear(double c) {
  c /= 255.0;
  return c <= 0.04045 ? c / 12.92 : std::pow((c + 0.055) / 1.055, 2.4);
}

struct NamedLab {
  std::string name;
  Lab lab;
};

const std::vector<NamedLab>& named_labs() {
  static const std::vector<NamedLab> table = [] {
    std::vector<NamedLab> t;
    for (const auto& n : kNamed) t.push_back({n.name, srgb_to_lab(n.r, n.g, n.b)});
    return t;
  }();
  return table;
}

constexpr double kPi = 3.14159265358979323846;
double deg(double rad) {
  return rad * 180.0 / kPi;
}
double rad(double d) {
  return d * kPi / 180.0;
}

}  // namespace

Lab srgb_to_lab(int r, int g, int b) {
  // sRGB (D65) -> XYZ -> CIELAB, the standard formulas.
  const double R = srgb_to_linear(r), G = srgb_to_linear(g), B = srgb_to_linear(b);
  const double X = (0.4124564 * R + 0.3575761 * G + 0.1804375 * B) / 0.95047;
  const double Y = (0.2126729 * R + 0.7151522 * G + 0.0721750 * B) / 1.00000;
  const double Z = (0.0193339 * R + 0.1191920 * G + 0.9503041 * B) / 1.08883;
  auto f = [](double t) {
    return t > 216.0 / 24389.0 ? std::cbrt(t) : (24389.0 / 27.0 * t + 16.0) / 116.0;
  };
  const double fx = f(X), fy = f(Y), fz = f(Z);
  return {116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)};
}

double ciede2000(const Lab& x, const Lab& y) {
  // Sharma, Wu and Dalal (2005), "The CIEDE2000 color-difference formula".
  const double C1 = std::hypot(x.a, x.b), C2 = std::hypot(y.a, y.b);
  const double Cm = (C1 + C2) / 2.0;
  const double G = 0.5 * (1.0 - std::sqrt(std::pow(Cm, 7) / (std::pow(Cm, 7) + std::pow(25.0, 7))));
  const double a1 = (1.0 + G) * x.a, a2 = (1.0 + G) * y.a;
  const double c1 = std::hypot(a1, x.b), c2 = std::hypot(a2, y.b);
  auto hue = [](double b, double a) {
    if (a == 0 && b == 0) return 0.0;
    double h = deg(std::atan2(b, a));
    return h < 0 ? h + 360.0 : h;
  };
  const double h1 = hue(x.b, a1), h2 = hue(y.b, a2);
  const double dL = y.L - x.L, dC = c2 - c1;
  double dh = 0;
  if (c1 * c2 != 0) {
    dh = h2 - h1;
    if (dh > 180)
      dh -= 360;
    else if (dh < -180)
      dh += 360;
  }
  const double dH = 2.0 * std::sqrt(c1 * c2) * std::sin(rad(dh / 2.0));
  const double Lm = (x.L + y.L) / 2.0, cm = (c1 + c2) / 2.0;
  double hm = h1 + h2;
  if (c1 * c2 != 0) {
    if (std::abs(h1 - h2) <= 180)
      hm = (h1 + h2) / 2.0;
    else
      hm = (h1 + h2 < 360) ? (h1 + h2 + 360) / 2.0 : (h1 + h2 - 360) / 2.0;
  }
  const double T = 1 - 0.17 * std::cos(rad(hm - 30)) + 0.24 * std::cos(rad(2 * hm)) +
                   0.32 * std::cos(rad(3 * hm + 6)) - 0.20 * std::cos(rad(4 * hm - 63));
  const double dTheta = 30 * std::exp(-std::pow((hm - 275) / 25, 2));
  const double Rc = 2 * std::sqrt(std::pow(cm, 7) / (std::pow(cm, 7) + std::pow(25.0, 7)));
  const double Sl = 1 + 0.015 * std::pow(Lm - 50, 2) / std::sqrt(20 + std::pow(Lm - 50, 2));
  const double Sc = 1 + 0.045 * cm, Sh = 1 + 0.015 * cm * T;
  const double Rt = -std::sin(rad(2 * dTheta)) * Rc;
  return std::sqrt(std::pow(dL / Sl, 2) + std::pow(dC / Sc, 2) + std::pow(dH / Sh, 2) +
                   Rt * (dC / Sc) * (dH / Sh));
}

const std::string& nearest_color_name(int r, int g, int b) {
  const Lab lab = srgb_to_lab(r, g, b);
  const auto& t = named_labs();
  std::size_t best = 0;
  double bd = 1e9;
  for (std::size_t i = 0; i < t.size(); ++i) {
    const double d = ciede2000(lab, t[i].lab);
    if (d < bd) bd = d, best = i;
  }
  return t[best].name;
}

std::string color_family(const Lab& lab) {
  // Coarse names from lightness, chroma and hue angle: what a caption says.
  const double C = std::hypot(lab.a, lab.b);
  double h = deg(std::atan2(lab.b, lab.a));
  if (h < 0) h += 360;
  if (C < 8) {
    if (lab.L > 88) return "white";
    if (lab.L < 20) return "black";
    return "grey";
  }
  if (h >= 50 && h < 115 && C < 35 && lab.L > 60) return "beige";
  if (h < 35 || h >= 345) return lab.L > 70 ? "pink" : "red";
  if (h < 75 && lab.L < 50) return "brown";
  if (h < 50) return lab.L > 75 ? "pink" : (C > 45 ? "orange" : "brown");
  if (h < 75) return "orange";
  if (h < 105) return lab.L < 60 ? "olive" : "yellow";
  if (h < 180) return "green";
  if (h < 235) return lab.L < 45 ? "teal" : "cyan";
  if (h < 318) return lab.L < 25 ? "navy" : "blue";  // CIELAB puts pure blue near 306 degrees
  return lab.L > 65 ? "pink" : "purple";
}

namespace {

// The region's pixels in Lab (L 0..100, a/b about -127..127), one per row;
// only the masked ones when there is a mask (empty when it keeps none).
cv::Mat lab_samples(const cv::Mat& bgr, cv::Rect roi, const cv::Mat& mask) {
  // Work on at most ~4096 pixels: the palette does not need more. Nearest
  // sampling keeps colours that are really there (area averaging would
  // invent blends along every edge).
  cv::Mat region = bgr(roi), small, small_mask;
  const double s = std::min(1.0, std::sqrt(4096.0 / (double(roi.width) * roi.height)));
  const cv::Size to(std::max(1, int(roi.width * s)), std::max(1, int(roi.height * s)));
  if (s < 1.0) {
    cv::resize(region, small, to, 0, 0, cv::INTER_NEAREST);
    if (!mask.empty()) cv::resize(mask(roi), small_mask, to, 0, 0, cv::INTER_NEAREST);
  } else {
    small = region;
    if (!mask.empty()) small_mask = mask(roi).clone();  // continuous, for reshape
  }
  cv::Mat f32, lab;
  small.convertTo(f32, CV_32F, 1.0 / 255.0);
  image::cvt_lab(f32, lab, cv::COLOR_BGR2Lab);  // L 0..100, a/b about -127..127
  cv::Mat samples = lab.reshape(1, lab.rows * lab.cols);
  if (!small_mask.empty()) {  // only the masked pixels
    cv::Mat kept;
    const cv::Mat m = small_mask.reshape(1, small_mask.rows * small_mask.cols);
    for (int i = 0; i < samples.rows; ++i)
      if (m.at<std::uint8_t>(i)) kept.push_back(samples.row(i));
    if (kept.empty()) return {};
    samples = kept;
  }
  return samples;
}

struct Cluster {
  double L, a, b;
  int count;
};

// k-means of the samples into `kk` clusters (seeded: the same pixels give the
// same palette), with each cluster's sample count.
std::vector<Cluster> kmeans_clusters(const cv::Mat& samples, int kk) {
  const int n = samples.rows;
  cv::Mat labels, centers;
  cv::RNG& rng = cv::theRNG();  // thread-local in OpenCV
  const auto saved = rng.state;
  rng.state = 0x5eed;
  cv::kmeans(samples, kk, labels,
             cv::TermCriteria(cv::TermCriteria::EPS + cv::TermCriteria::COUNT, 20, 0.5), 2,
             cv::KMEANS_PP_CENTERS, centers);
  rng.state = saved;

  std::vector<Cluster> cl(kk, {0, 0, 0, 0});
  for (int i = 0; i < kk; ++i) {
    cl[i] = {centers.at<float>(i, 0), centers.at<float>(i, 1), centers.at<float>(i, 2), 0};
  }
  for (int i = 0; i < n; ++i) ++cl[labels.at<int>(i)].count;
  return cl;
}

// Merge clusters within a just-noticeable difference (k-means splits flat areas).
void merge_close_clusters(std::vector<Cluster>& cl) {
  bool merged = true;
  while (merged) {
    merged = false;
    for (std::size_t i = 0; i < cl.size() && !merged; ++i) {
      for (std::size_t j = i + 1; j < cl.size() && !merged; ++j) {
        if (cl[i].count == 0 || cl[j].count == 0) continue;
        if (ciede2000({cl[i].L, cl[i].a, cl[i].b}, {cl[j].L, cl[j].a, cl[j].b}) < 5.0) {
          const double w = double(cl[i].count) / (cl[i].count + cl[j].count);
          cl[i] = {cl[i].L * w + cl[j].L * (1 - w), cl[i].a * w + cl[j].a * (1 - w),
                   cl[i].b * w + cl[j].b * (1 - w), cl[i].count + cl[j].count};
          cl.erase(cl.begin() + long(j));
          merged = true;
        }
      }
    }
  }
}

// A cluster as a palette entry; `n` is the number of samples.
PaletteColor palette_color(const Cluster& c, int n) {
  // Back to sRGB through OpenCV so the hex is what the pixels look like.
  cv::Mat one(1, 1, CV_32FC3, cv::Scalar(c.L, c.a, c.b)), rgb;
  image::cvt_lab(one, rgb, cv::COLOR_Lab2RGB);
  const cv::Vec3f v = rgb.at<cv::Vec3f>(0, 0);
  const int r = std::clamp(int(std::lround(v[0] * 255)), 0, 255);
  const int g = std::clamp(int(std::lround(v[1] * 255)), 0, 255);
  const int b = std::clamp(int(std::lround(v[2] * 255)), 0, 255);
  PaletteColor p;
  char hex[8];
  std::snprintf(hex, sizeof hex, "#%02x%02x%02x", r, g, b);
  p.hex = hex;
  p.lab = srgb_to_lab(r, g, b);
  p.name = nearest_color_name(r, g, b);
  p.family = color_family(p.lab);
  p.share = double(c.count) / n;
  return p;
}

}  // namespace

std::vector<PaletteColor> dominant_colors(const cv::Mat& bgr, cv::Rect roi, int k,
                                          const cv::Mat& mask) {
  roi &= cv::Rect(0, 0, bgr.cols, bgr.rows);
  if (roi.empty() || k <= 0) return {};
  const cv::Mat samples = lab_samples(bgr, roi, mask);
  if (samples.empty()) return {};  // the mask keeps no pixel
  const int n = samples.rows;
  const int kk = std::min(k, n);
  std::vector<Cluster> cl = kmeans_clusters(samples, kk);
  merge_close_clusters(cl);
  std::sort(cl.begin(), cl.end(),
            [](const Cluster& x, const Cluster& y) { return x.count > y.count; });
  std::vector<PaletteColor> out;
  for (const auto& c : cl) {
    if (c.count == 0 || (double(c.count) / n < 0.01 && !out.empty()))
      continue;  // specks are not a palette
    out.push_back(palette_color(c, n));
  }
  return out;
}

}  // namespace atelier::vision
