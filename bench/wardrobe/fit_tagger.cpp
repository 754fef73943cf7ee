// Fits the wardrobe tagger's category layers on the MANGO outfits fixture
// (../shared/data/outfits, internal use: the data is read here and never
// copied; only fitted numbers go into the code), on the items of the fitting
// side of the item-disjoint split (split.h) only, and measures them on every
// other item (never seen in fitting, as the compatibility weights are):
// - the category probe (wardrobe::CategoryProbe: a softmax layer over the
//   1,280-float MobileNetV2 embedding, class-balanced cross-entropy with L2,
//   full-batch Adam); FIT_TAGGER_WRITE=src/wardrobe/category_probe.cpp
//   writes it as C++;
// - the type probe (wardrobe::TypeProbe: the same over MANGO's product types
//   that atelier knows, not balanced); FIT_TAGGER_WRITE_TYPES=
//   src/wardrobe/type_probe.cpp writes it;
// - the ImageNet-mass layer (wardrobe::TaggerWeights: 7 x 11 numbers, the
//   fallback for other encoders), printed as C++.
// Prints held-out accuracy per category and the probe's calibration (mean
// confidence against accuracy by confidence band, and the expected
// calibration error).
// Usage: bench_fit_tagger [OUTFITS_DIR] [MODELS_DIR]
// Environment: FIT_TAGGER_DUMP=FILE writes each item's features, embedding
// and labels as JSON for offline experiments (derived from the fixture: never
// commit it).
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "engines/local/mobilenet.h"
#include "split.h"
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

using atelier::wardrobe::CategoryProbe;
using atelier::wardrobe::kProbeDim;
using Embedding = std::vector<float>;

// One Adam step (learning rate 0.01) on `param` with gradient `g` plus L2.
void adam_step(float& param, double g, double l2, double& m, double& v, int step) {
  const double lr = 0.01, b1 = 0.9, b2 = 0.999;
  const double grad = g + 2 * l2 * param;
  m = b1 * m + (1 - b1) * grad;
  v = b2 * v + (1 - b2) * grad * grad;
  const double mh = m / (1 - std::pow(b1, step)), vh = v / (1 - std::pow(b2, step));
  param -= float(lr * mh / (std::sqrt(vh) + 1e-8));
}

// Class-balanced softmax regression on embeddings with L2, full-batch Adam.
std::unique_ptr<CategoryProbe> fit_probe(const std::vector<Embedding>& x, const std::vector<int>& y,
                                         double l2, int steps) {
  auto p = std::make_unique<CategoryProbe>();
  std::array<double, kCategoryCount> count{};
  for (int c : y) count[c] += 1;
  double total_weight = 0;
  std::vector<double> wi(x.size());
  for (std::size_t i = 0; i < x.size(); ++i)
    total_weight += wi[i] = double(x.size()) / (kCategoryCount * count[y[i]]);
  constexpr int kParams = kCategoryCount * (kProbeDim + 1);
  std::vector<double> m(kParams), v(kParams), g(kParams);
  for (int step = 1; step <= steps; ++step) {
    std::fill(g.begin(), g.end(), 0.0);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const auto prob = p->probabilities(x[i]);
      for (int c = 0; c < kCategoryCount; ++c) {
        const double e = wi[i] / total_weight * (prob[c] - (c == y[i] ? 1.0 : 0.0));
        double* gc = &g[std::size_t(c) * (kProbeDim + 1)];
        for (int k = 0; k < kProbeDim; ++k) gc[k] += e * x[i][k];
        gc[kProbeDim] += e;
      }
    }
    for (int c = 0; c < kCategoryCount; ++c) {
      for (int k = 0; k <= kProbeDim; ++k) {
        const std::size_t j = std::size_t(c) * (kProbeDim + 1) + k;
        adam_step(k < kProbeDim ? p->w[c][k] : p->bias[c], g[j], k < kProbeDim ? l2 : 0.0, m[j],
                  v[j], step);
      }
    }
  }
  return p;
}

using atelier::wardrobe::TypeProbe;

// A float literal that always parses as one ("0" would be "0F", an error).
std::string float_literal(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", x);
  std::string s = buf;
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  return s + "F";
}

// MANGO's product category as atelier's type, where atelier has one (as
// tests/http/wardrobe.test.mjs maps them).
std::string mango_type(const std::string& category) {
  static const std::map<std::string, std::string> kTypes = {{"T-Shirt", "t-shirt"},
                                                            {"Top", "top"},
                                                            {"Blouse", "blouse"},
                                                            {"Shirt", "shirt"},
                                                            {"Sweatshirt", "sweatshirt"},
                                                            {"Sweater", "sweater"},
                                                            {"Cardigan", "cardigan"},
                                                            {"Bras", "bra"},
                                                            {"Bikini top", "bikini"},
                                                            {"Vest", "vest"},
                                                            {"Jeans", "jeans"},
                                                            {"Trousers", "trousers"},
                                                            {"Shorts", "shorts"},
                                                            {"Skirt", "skirt"},
                                                            {"Leggings", "leggings"},
                                                            {"Dress", "dress"},
                                                            {"Jumpsuit", "jumpsuit"},
                                                            {"Blazer", "blazer"},
                                                            {"Jacket", "jacket"},
                                                            {"Trenchcoat", "trench coat"},
                                                            {"Coat", "coat"},
                                                            {"Parka", "parka"},
                                                            {"Sandals", "sandals"},
                                                            {"Trainers", "sneakers"},
                                                            {"Boots", "boots"},
                                                            {"Ankle Boots", "boots"},
                                                            {"Handbag", "handbag"},
                                                            {"Shoulder bag", "shoulder bag"},
                                                            {"Sunglasses", "sunglasses"},
                                                            {"Hat", "hat"},
                                                            {"Scarf", "scarf"},
                                                            {"Gloves", "gloves"},
                                                            {"Socks", "socks"}};
  const auto it = kTypes.find(category);
  return it == kTypes.end() ? "" : it->second;
}

// Softmax regression on embeddings with L2, full-batch Adam; not balanced
// (a type seen three times stays rare).
TypeProbe fit_type_probe(const std::vector<Embedding>& x, const std::vector<int>& y,
                         const std::vector<std::string>& types, double l2, int steps) {
  TypeProbe p;
  p.types = types;
  const std::size_t n = types.size();
  p.bias.assign(n, 0.0F);
  p.w.assign(n, std::vector<float>(kProbeDim, 0.0F));
  const std::size_t params = n * (kProbeDim + 1);
  std::vector<double> m(params), v(params), g(params);
  for (int step = 1; step <= steps; ++step) {
    std::fill(g.begin(), g.end(), 0.0);
    for (std::size_t i = 0; i < x.size(); ++i) {
      const auto prob = p.probabilities(x[i]);
      for (std::size_t c = 0; c < n; ++c) {
        const double e = (prob[c] - (int(c) == y[i] ? 1.0 : 0.0)) / double(x.size());
        double* gc = &g[c * (kProbeDim + 1)];
        for (int k = 0; k < kProbeDim; ++k) gc[k] += e * x[i][k];
        gc[kProbeDim] += e;
      }
    }
    for (std::size_t c = 0; c < n; ++c) {
      for (int k = 0; k <= kProbeDim; ++k) {
        const std::size_t j = c * (kProbeDim + 1) + k;
        adam_step(k < kProbeDim ? p.w[c][k] : p.bias[c], g[j], k < kProbeDim ? l2 : 0.0, m[j], v[j],
                  step);
      }
    }
  }
  return p;
}

// Held-out: how often the probe's best type is right, and at the tagger's
// threshold how often a type is given and right.
void report_type_probe(const TypeProbe& p, const std::vector<Embedding>& x,
                       const std::vector<int>& y) {
  int ok = 0, given = 0, given_ok = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    const auto prob = p.probabilities(x[i]);
    const int best = int(std::max_element(prob.begin(), prob.end()) - prob.begin());
    ok += best == y[i];
    if (prob[best] >= atelier::wardrobe::kTypeThreshold) {
      ++given;
      given_ok += best == y[i];
    }
  }
  std::printf(
      "type probe, held out (%zu items of the %zu types): best type right %.3f; at >= %.1f "
      "given for %.2f, right for %.3f of those\n",
      x.size(), p.types.size(), double(ok) / double(x.size()), atelier::wardrobe::kTypeThreshold,
      double(given) / double(x.size()), given ? double(given_ok) / given : 0.0);
}

void write_type_probe(const TypeProbe& p, const std::string& path, std::size_t items) {
  std::ofstream out(path);
  out << "// The wardrobe tagger's type probe (see wardrobe/tagger.h), written by\n"
         "// bench_fit_tagger (FIT_TAGGER_WRITE_TYPES): fitted on the "
      << items
      << " typed items of the fitting\n"
         "// side of the MANGO outfits fixture's item-disjoint split; never edit by hand.\n"
         "// clang-format off\n"
         "#include \"wardrobe/tagger.h\"\n\nnamespace atelier::wardrobe {\n\n"
         "const TypeProbe& TypeProbe::fitted() {\n"
         "  static const TypeProbe kProbe = {\n    {";
  for (std::size_t c = 0; c < p.types.size(); ++c)
    out << (c ? ", " : "") << '"' << p.types[c] << '"';
  out << "},\n    {";
  for (std::size_t c = 0; c < p.types.size(); ++c)
    out << (c ? ", " : "") << float_literal(p.bias[c]);
  out << "},\n    {\n";
  for (const auto& row : p.w) {
    out << "      {";
    for (int k = 0; k < kProbeDim; ++k)
      out << (k ? (k % 8 ? ", " : ",\n       ") : "") << float_literal(row[k]);
    out << "},\n";
  }
  out << "    }};\n  return kProbe;\n}\n\n}  // namespace atelier::wardrobe\n";
}

// Held-out accuracy per category and overall, and calibration by confidence
// band.
void report_probe(const CategoryProbe& p, const std::vector<Embedding>& x,
                  const std::vector<int>& y) {
  std::array<int, kCategoryCount> n{}, ok{};
  std::array<double, 10> band_conf{}, band_ok{};
  std::array<int, 10> band_n{};
  for (std::size_t i = 0; i < x.size(); ++i) {
    const auto prob = p.probabilities(x[i]);
    const int best = int(std::max_element(prob.begin(), prob.end()) - prob.begin());
    ++n[y[i]];
    ok[y[i]] += best == y[i];
    const int b = std::min(9, int(prob[best] * 10));
    ++band_n[b];
    band_conf[b] += prob[best];
    band_ok[b] += best == y[i];
  }
  int all_ok = 0;
  for (int c = 0; c < kCategoryCount; ++c) all_ok += ok[c];
  std::printf("category probe, held out: accuracy %.3f (", double(all_ok) / double(x.size()));
  for (int c = 0; c < kCategoryCount; ++c)
    std::printf("%s%s %.2f", c ? ", " : "", atelier::wardrobe::categories()[c].c_str(),
                n[c] ? double(ok[c]) / n[c] : 0.0);
  std::printf(")\n  calibration (confidence band: items, mean confidence, accuracy):\n");
  double ece = 0;
  for (int b = 0; b < 10; ++b) {
    if (!band_n[b]) continue;
    std::printf("    %.1f-%.1f: %d, %.3f, %.3f\n", b / 10.0, (b + 1) / 10.0, band_n[b],
                band_conf[b] / band_n[b], band_ok[b] / band_n[b]);
    ece += std::abs(band_conf[b] - band_ok[b]) / double(x.size());
  }
  std::printf("  expected calibration error %.3f\n", ece);
}

void write_probe(const CategoryProbe& p, const std::string& path, std::size_t items) {
  std::ofstream out(path);
  out << "// The wardrobe tagger's category probe (see wardrobe/tagger.h), written by\n"
         "// bench_fit_tagger (FIT_TAGGER_WRITE): fitted on the "
      << items
      << " items of the fitting side of\n"
         "// the MANGO outfits fixture's item-disjoint split; never edit by hand.\n"
         "// clang-format off\n"
         "#include \"wardrobe/tagger.h\"\n\nnamespace atelier::wardrobe {\n\n"
         "const CategoryProbe& CategoryProbe::fitted() {\n"
         "  static const CategoryProbe kProbe = {\n    {";
  for (int c = 0; c < kCategoryCount; ++c) out << (c ? ", " : "") << float_literal(p.bias[c]);
  out << "},\n    {{\n";
  for (int c = 0; c < kCategoryCount; ++c) {
    out << "      {";
    for (int k = 0; k < kProbeDim; ++k)
      out << (k ? (k % 8 ? ", " : ",\n       ") : "") << float_literal(p.w[c][k]);
    out << "},\n";
  }
  out << "    }}};\n  return kProbe;\n}\n\n}  // namespace atelier::wardrobe\n";
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
  // The item-disjoint split: items of the fitting side's outfits fit.
  std::vector<atelier::bench::Outfit> all_outfits;
  for (const auto& o : outfits) {
    atelier::bench::Outfit x{o["id"], {}};
    for (const auto& it : o["items"]) x.items.push_back(it["item_id"]);
    all_outfits.push_back(x);
  }
  std::size_t dropped = 0;
  const auto fitting_outfits = atelier::bench::item_disjoint_greedy(all_outfits, &dropped).first;
  std::set<std::string> fitting;
  for (const auto& o : fitting_outfits) fitting.insert(o.items.begin(), o.items.end());
  std::vector<Features> train_x, test_x, all_x;
  std::vector<int> train_y, test_y, all_y;
  std::vector<Embedding> train_e, test_e;
  // Items whose MANGO category is an atelier type, for the type probe.
  std::vector<std::string> types;
  std::vector<Embedding> type_train_e, type_test_e;
  std::vector<int> type_train_y, type_test_y;
  std::set<std::string> seen;
  nlohmann::json dump = nlohmann::json::array();
  for (const auto& o : outfits) {
    for (const auto& it : o["items"]) {
      const std::string id = it["item_id"];
      if (!seen.insert(id).second) continue;
      cv::Mat bgr = cv::imread(dir + "/" + it["image"].get<std::string>());
      if (bgr.empty()) continue;
      auto t = tagger.tag(bgr, atelier::WorkContext{});
      if (!t.is_ok()) continue;
      const int y = category_of(it);
      if (std::getenv("FIT_TAGGER_DUMP"))
        dump.push_back({{"id", id},
                        {"y", y},
                        {"features", t->features},
                        {"embedding", t->embedding},
                        {"group", it["group"]},
                        {"semantic_category", it["semantic_category"]},
                        {"family", it["aggregated_family"]},
                        {"color_group", it.value("color_group", "")},
                        {"type", t->tags.type ? t->tags.type->value : ""},
                        {"type_confidence", t->tags.type ? t->tags.type->confidence : 0.0},
                        {"mango_category", it["category"]},
                        {"category", t->tags.category.value},
                        {"confidence", t->tags.category.confidence}});
      all_x.push_back(t->features);
      all_y.push_back(y);
      const bool test = fitting.count(id) == 0;
      (test ? test_x : train_x).push_back(t->features);
      (test ? test_y : train_y).push_back(y);
      (test ? test_e : train_e).push_back(t->embedding);
      if (const std::string type = mango_type(it["category"]); !type.empty()) {
        auto at = std::find(types.begin(), types.end(), type);
        if (at == types.end()) at = types.insert(types.end(), type);
        (test ? type_test_e : type_train_e).push_back(t->embedding);
        (test ? type_test_y : type_train_y).push_back(int(at - types.begin()));
      }
    }
  }
  if (const char* path = std::getenv("FIT_TAGGER_DUMP")) std::ofstream(path) << dump;
  const double l2 = 1e-3;
  std::printf(
      "items %zu (fitted on %zu, the items of the item-disjoint split's fitting side; "
      "held out %zu)\n",
      all_x.size(), train_x.size(), test_x.size());
  const auto probe = fit_probe(train_e, train_y, 3e-5, 1500);
  report_probe(*probe, test_e, test_y);
  if (const char* path = std::getenv("FIT_TAGGER_WRITE")) write_probe(*probe, path, train_e.size());
  const TypeProbe type_probe = fit_type_probe(type_train_e, type_train_y, types, 3e-5, 1500);
  report_type_probe(type_probe, type_test_e, type_test_y);
  if (const char* path = std::getenv("FIT_TAGGER_WRITE_TYPES"))
    write_type_probe(type_probe, path, type_train_e.size());
  const TaggerWeights w = fit(train_x, train_y, l2);
  std::printf("ImageNet-mass layer, held out: unfitted %.3f, fitted %.3f\n",
              accuracy(TaggerWeights::identity(), test_x, test_y), accuracy(w, test_x, test_y));
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
