// Fits the wardrobe tagger's category layer (wardrobe::TaggerWeights: 7 x 11
// numbers) on the MANGO outfits fixture (../shared/data/outfits, internal use:
// the data is read here and never copied; only the fitted numbers are pasted
// into wardrobe/tagger.cpp). Multinomial logistic regression with L2 on the
// tagger's own features; prints the accuracy on a held-out third of the items
// (split by item id) for the fitted layer and for the unfitted default, then
// the weights fitted on all items as C++.
// Usage: bench_fit_tagger [OUTFITS_DIR] [MODELS_DIR]
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "engines/local/mobilenet.h"
#include "wardrobe/tagger.h"

namespace {

using atelier::wardrobe::kCategoryCount;
using atelier::wardrobe::kFeatureCount;
using atelier::wardrobe::TaggerWeights;
using Features = std::array<double, kFeatureCount>;

// MANGO's labels as atelier's categories.
int category_of(const nlohmann::json& it) {
  const std::string g = it["group"], sc = it["semantic_category"];
  if (g == "Tops" || sc == "Intimate" || sc == "Swimwear") return 0;
  if (g == "Bottoms") return 1;
  if (g.rfind("Dresses", 0) == 0) return 2;
  if (g == "Outerwear") return 3;
  if (sc == "Footwear") return 4;
  if (sc == "Bags" || sc == "Wallets & cases") return 5;
  return 6;
}

std::array<double, kCategoryCount> predict(const TaggerWeights& w, const Features& f) {
  std::array<double, kCategoryCount> s{};
  double mx = -1e300, sum = 0;
  for (int c = 0; c < kCategoryCount; ++c) {
    s[c] = w.bias[c];
    for (int k = 0; k < kFeatureCount; ++k) s[c] += w.w[c][k] * f[k];
    mx = std::max(mx, s[c]);
  }
  for (double& x : s) sum += (x = std::exp(x - mx));
  for (double& x : s) x /= sum;
  return s;
}

TaggerWeights fit(const std::vector<Features>& x, const std::vector<int>& y, double l2) {
  TaggerWeights w = TaggerWeights::identity();
  // Class-balanced: each category weighs the same in the loss, so the layer
  // does not learn MANGO's mix of accessories.
  std::array<double, kCategoryCount> count{};
  for (int c : y) count[c] += 1;
  const double lr = 0.05;
  for (int epoch = 0; epoch < 3000; ++epoch) {
    TaggerWeights g;
    for (std::size_t i = 0; i < x.size(); ++i) {
      const auto p = predict(w, x[i]);
      const double wi = double(x.size()) / (kCategoryCount * count[y[i]]);
      for (int c = 0; c < kCategoryCount; ++c) {
        const double e = wi * (p[c] - (c == y[i] ? 1.0 : 0.0));
        g.bias[c] += e;
        for (int k = 0; k < kFeatureCount; ++k) g.w[c][k] += e * x[i][k];
      }
    }
    for (int c = 0; c < kCategoryCount; ++c) {
      w.bias[c] -= lr * g.bias[c] / x.size();
      for (int k = 0; k < kFeatureCount; ++k)
        w.w[c][k] -= lr * (g.w[c][k] / x.size() + l2 * w.w[c][k]);
    }
  }
  return w;
}

double accuracy(const TaggerWeights& w, const std::vector<Features>& x, const std::vector<int>& y) {
  int ok = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const auto p = predict(w, x[i]);
    int best = 0;
    for (int c = 1; c < kCategoryCount; ++c)
      if (p[c] > p[best]) best = c;
    ok += best == y[i];
  }
  return double(ok) / std::max<std::size_t>(1, x.size());
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "../shared/data/outfits";
  const std::string models = argc > 2 ? argv[2] : "../shared/models";
  atelier::engines::MobileNetOptions o;
  o.model_path = models + "/mobilenet-v2/mobilenet_v2_1.0_224_tf2_fp32.onnx";
  o.labels_path = models + "/mobilenet-v2/imagenet_labels_1001_coral.txt";
  o.batching.name = "fit";
  auto enc = atelier::engines::MobileNetEncoder::load(o);
  if (!enc.is_ok()) {
    std::fprintf(stderr, "%s\n", enc.status().message().c_str());
    return 1;
  }
  atelier::wardrobe::Tagger tagger(enc->get(), TaggerWeights::identity());
  std::ifstream in(dir + "/outfits.json");
  const auto outfits = nlohmann::json::parse(in);
  std::vector<Features> train_x, test_x, all_x;
  std::vector<int> train_y, test_y, all_y;
  std::set<std::string> seen;
  for (const auto& o : outfits) {
    for (const auto& it : o["items"]) {
      const std::string id = it["item_id"];
      if (!seen.insert(id).second) continue;
      cv::Mat bgr = cv::imread(dir + "/" + it["image"].get<std::string>());
      if (bgr.empty()) continue;
      auto t = tagger.tag(bgr, atelier::WorkContext{});
      if (!t.is_ok()) continue;
      const int y = category_of(it);
      all_x.push_back(t->features);
      all_y.push_back(y);
      const bool test = std::hash<std::string>{}(id) % 3 == 0;
      (test ? test_x : train_x).push_back(t->features);
      (test ? test_y : train_y).push_back(y);
    }
  }
  const double l2 = 1e-3;
  const TaggerWeights held = fit(train_x, train_y, l2);
  std::printf("items %zu (train %zu, held out %zu)\n", all_x.size(), train_x.size(), test_x.size());
  std::printf("category accuracy on held-out items: default %.3f, fitted %.3f\n",
              accuracy(TaggerWeights::identity(), test_x, test_y), accuracy(held, test_x, test_y));
  const TaggerWeights w = fit(all_x, all_y, l2);
  std::printf("fitted on all: training accuracy %.3f\n", accuracy(w, all_x, all_y));
  std::printf("  w.bias = {");
  for (int c = 0; c < kCategoryCount; ++c) std::printf("%s%.4f", c ? ", " : "", w.bias[c]);
  std::printf("};\n  w.w = {{\n");
  for (int c = 0; c < kCategoryCount; ++c) {
    std::printf("      {");
    for (int k = 0; k < kFeatureCount; ++k) std::printf("%s%.4f", k ? ", " : "", w.w[c][k]);
    std::printf("},\n");
  }
  std::printf("  }};\n");
  return 0;
}
