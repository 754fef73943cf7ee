// Fits and measures outfit compatibility (wardrobe::CompatWeights: a bias and
// 7 weights) on the MANGO outfits fixture (../shared/data/outfits, internal
// use: read here, never copied; only the fitted numbers are pasted into
// wardrobe/compatibility.cpp), with the fixture README's protocols:
// - AUC: each real outfit against 3 outfits whose every item is swapped for
//   another of its family (MANGO's aggregated_family), drawn by how often
//   items occur, from the same catalogue year;
// - FITB: one item blanked, the real one among 4 candidates drawn the same
//   way; the highest score must be the real one;
// - fill recall@10: one item blanked, every item of its family in the
//   fixture (a ~1,100-item wardrobe) ranked by the completed outfit's score.
// - fill recall@10 again over the items of the blank's tagged category, as
//   POST /v1/outfits/recommend with `fill` ranks them.
// Two splits, both measured in the same run:
// - item-disjoint, two ways, so that no item of a test outfit is in a
//   training outfit (MANGO products recur across outfits): greedy (the one
//   the weights are chosen on and tests/http/wardrobe.test.mjs measures;
//   see item_disjoint_greedy), and whole connected components of the
//   outfit-item graph, which go to the test side until it holds a third of
//   the outfits. Fitting sees the training items
//   only (its style space, draws and swaps); the test outfits are measured
//   against the whole fixture as the wardrobe, so their FITB draws and fill
//   candidates are as many as in a never-seen set of its size.
// - by outfit id (two thirds / one third; items recur on both sides), over the
//   whole fixture as one wardrobe, as measured before.
// A colour-histogram baseline (the palette feature alone) and chance are
// printed beside every figure.
// Usage: bench_fit_outfits [OUTFITS_DIR] [MODELS_DIR]
// Environment: FIT_OUTFITS_NO_STYLE=1 leaves the style space out;
// FIT_OUTFITS_TRY="w0 .. w7" also measures hand-set weights;
// FIT_OUTFITS_DUMP=FILE writes each item's tags, embedding and pair terms as
// JSON for offline experiments (derived from the fixture: never commit it).
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engines/local/mobilenet.h"
#include "split.h"
#include "wardrobe/compatibility.h"
#include "wardrobe/tagger.h"

namespace {

using namespace atelier::wardrobe;
using atelier::bench::item_disjoint_greedy;
using atelier::bench::Outfit;

struct Pool {
  std::map<std::string, OutfitItem> items;
  std::map<std::string, std::string> family, year;
  std::map<std::string, int> occurs;
  // family|year -> candidates, each repeated by occurrence (draws follow popularity).
  std::map<std::string, std::vector<std::string>> weighted;
  std::map<std::string, std::vector<std::string>> by_family;
};

std::string draw(const Pool& p, const std::string& id, std::mt19937& rng) {
  const auto& c = p.weighted.at(p.family.at(id) + "|" + p.year.at(id));
  for (int tries = 0; tries < 50; ++tries) {
    const std::string& pick = c[std::uniform_int_distribution<std::size_t>(0, c.size() - 1)(rng)];
    if (pick != id) return pick;
  }
  return id;
}

std::vector<OutfitItem> resolve(const Pool& p, const std::vector<std::string>& ids) {
  std::vector<OutfitItem> out;
  for (const auto& id : ids) out.push_back(p.items.at(id));
  return out;
}

double auc(const std::vector<double>& pos, const std::vector<double>& neg) {
  double wins = 0;
  for (double a : pos)
    for (double b : neg) wins += a > b ? 1.0 : a == b ? 0.5 : 0.0;
  return wins / (double(pos.size()) * neg.size());
}

struct Task {
  std::vector<Features> pos, neg;
  // FITB: per question, the features of each candidate's outfit; [0] is real.
  std::vector<std::vector<Features>> fitb;
  // Fill: per question, the features of each family member's outfit, and the real one's index;
  // fill_tagged ranks the items of the real one's tagged category instead (as the HTTP route does).
  std::vector<std::pair<std::vector<Features>, std::size_t>> fill, fill_tagged;
};

Task build(const Pool& p, const std::vector<Outfit>& outfits, std::mt19937& rng, bool with_fill) {
  Task t;
  for (const auto& o : outfits) {
    t.pos.push_back(features(resolve(p, o.items)));
    for (int k = 0; k < 3; ++k) {
      std::vector<std::string> swapped;
      for (const auto& id : o.items) swapped.push_back(draw(p, id, rng));
      t.neg.push_back(features(resolve(p, swapped)));
    }
    const std::size_t blank =
        std::uniform_int_distribution<std::size_t>(0, o.items.size() - 1)(rng);
    std::vector<Features> q;
    std::vector<std::string> ids = o.items;
    q.push_back(features(resolve(p, ids)));
    for (int k = 0; k < 3; ++k) {
      ids[blank] = draw(p, o.items[blank], rng);
      q.push_back(features(resolve(p, ids)));
    }
    t.fitb.push_back(std::move(q));
    if (with_fill) {
      const auto& fam = p.by_family.at(p.family.at(o.items[blank]));
      std::vector<Features> all;
      std::size_t real = 0;
      for (const auto& cand : fam) {
        ids = o.items;
        ids[blank] = cand;
        if (cand == o.items[blank]) real = all.size();
        all.push_back(features(resolve(p, ids)));
      }
      t.fill.emplace_back(std::move(all), real);
      all.clear();
      const std::string want = p.items.at(o.items[blank]).category;
      for (const auto& [cand, view] : p.items) {
        if (view.category != want) continue;
        if (cand != o.items[blank] &&
            std::find(o.items.begin(), o.items.end(), cand) != o.items.end())
          continue;
        ids = o.items;
        ids[blank] = cand;
        if (cand == o.items[blank]) real = all.size();
        all.push_back(features(resolve(p, ids)));
      }
      t.fill_tagged.emplace_back(std::move(all), real);
    }
  }
  return t;
}

struct Scores {
  double auc, fitb, fill, fill_tagged;
};

Scores measure(const Task& t, const std::function<double(const Features&)>& s) {
  std::vector<double> pos, neg;
  for (const auto& f : t.pos) pos.push_back(s(f));
  for (const auto& f : t.neg) neg.push_back(s(f));
  int right = 0;
  for (const auto& q : t.fitb) {
    const double real = s(q[0]);
    bool best = true;
    for (std::size_t k = 1; k < q.size(); ++k) best = best && real > s(q[k]);
    right += best;
  }
  auto recall = [&](const std::vector<std::pair<std::vector<Features>, std::size_t>>& qs) {
    int hit = 0;
    for (const auto& [all, real] : qs) {
      const double r = s(all[real]);
      int above = 0;
      for (std::size_t k = 0; k < all.size(); ++k) above += k != real && s(all[k]) >= r;
      hit += above < 10;
    }
    return qs.empty() ? 0.0 : double(hit) / double(qs.size());
  };
  return {auc(pos, neg), double(right) / std::max<std::size_t>(1, t.fitb.size()), recall(t.fill),
          recall(t.fill_tagged)};
}

// One-item swaps: the real outfit's features against the same outfit with one
// item replaced by another of its family, as FITB and fill ask.
std::vector<std::pair<Features, Features>> swap_pairs(const Pool& p,
                                                      const std::vector<Outfit>& outfits,
                                                      std::mt19937& rng) {
  std::vector<std::pair<Features, Features>> out;
  for (const auto& o : outfits) {
    const Features real = features(resolve(p, o.items));
    for (std::size_t i = 0; i < o.items.size(); ++i) {
      // Three drawn as FITB draws (by occurrence, same year), three as fill
      // ranks (any item of the family).
      const auto& fam = p.by_family.at(p.family.at(o.items[i]));
      for (int k = 0; k < 6; ++k) {
        std::vector<std::string> ids = o.items;
        ids[i] = k < 3 ? draw(p, o.items[i], rng)
                       : fam[std::uniform_int_distribution<std::size_t>(0, fam.size() - 1)(rng)];
        if (ids[i] == o.items[i]) continue;
        out.emplace_back(real, features(resolve(p, ids)));
      }
    }
  }
  return out;
}

// Pairwise logistic loss on the swaps fits the weights (a ranking: the real
// outfit above its swaps); then the bias alone, on real outfits against full
// swaps, makes the score a probability-like number around 0.5.
CompatWeights fit(const std::vector<std::pair<Features, Features>>& pairs, const Task& t) {
  CompatWeights w;
  w.bias = 0;
  w.w.fill(0);
  // Gradient descent on standardised differences (features differ in spread
  // by an order of magnitude; plain steps would leave the narrow ones unfitted).
  std::vector<std::array<double, Features::kCount>> diff;
  std::array<double, Features::kCount> sd{};
  for (const auto& [a, b] : pairs) {
    const auto va = a.values(), vb = b.values();
    std::array<double, Features::kCount> d{};
    for (int k = 0; k < Features::kCount; ++k) {
      d[k] = va[k] - vb[k];
      sd[k] += d[k] * d[k];
    }
    diff.push_back(d);
  }
  for (auto& x : sd) x = std::sqrt(x / double(pairs.size())) + 1e-9;
  std::array<double, Features::kCount> u{};
  const double lr = 0.5, l2 = 1e-3;
  for (int epoch = 0; epoch < 3000; ++epoch) {
    std::array<double, Features::kCount> g{};
    for (const auto& d : diff) {
      double z = 0;
      for (int k = 0; k < Features::kCount; ++k) z += u[k] * d[k] / sd[k];
      const double e = 1.0 / (1.0 + std::exp(z));  // d/dz of log(1 + e^-z), negated
      for (int k = 0; k < Features::kCount; ++k) g[k] -= e * d[k] / sd[k];
    }
    // Each feature is built so that more is better: weights stay >= 0.
    for (int k = 0; k < Features::kCount; ++k)
      u[k] = std::max(0.0, u[k] - lr * (g[k] / double(diff.size()) + l2 * u[k]));
  }
  for (int k = 0; k < Features::kCount; ++k) w.w[k] = u[k] / sd[k];
  for (int epoch = 0; epoch < 2000; ++epoch) {
    double gb = 0;
    for (const auto& f : t.pos) gb += 1.5 * (score(f, w) - 1);
    for (const auto& f : t.neg) gb += 0.5 * score(f, w);
    w.bias -= 1.0 * gb / double(t.pos.size() + t.neg.size());
  }
  return w;
}

struct Fixture {
  std::map<std::string, Item> raw;
  std::map<std::string, std::string> family, year;
  std::vector<Outfit> outfits;
};

// A wardrobe of the items of `outfits`: their style space, and candidates
// drawn from them only.
Pool make_pool(const Fixture& fx, const std::vector<Outfit>& outfits, bool styled) {
  Pool p;
  std::vector<Item> items;
  for (const auto& o : outfits)
    for (const auto& id : o.items) {
      if (p.occurs[id]++ == 0) items.push_back(fx.raw.at(id));
      p.family[id] = fx.family.at(id);
      p.year[id] = fx.year.at(id);
    }
  const auto space = styled ? StyleSpace::build(items) : nullptr;
  for (const auto& item : items) p.items[item.id] = outfit_item(item, space);
  for (const auto& [id, n] : p.occurs) {
    for (int k = 0; k < n; ++k) p.weighted[p.family[id] + "|" + p.year[id]].push_back(id);
    p.by_family[p.family[id]].push_back(id);
  }
  return p;
}

// Whole connected components (outfits sharing an item, transitively) go to
// the test side, in an order fixed by a hash of their first outfit's id,
// until it holds a third of the outfits; the largest always trains.
std::pair<std::vector<Outfit>, std::vector<Outfit>> item_disjoint(const std::vector<Outfit>& all) {
  std::map<std::string, std::string> parent;
  std::function<std::string(const std::string&)> root = [&](const std::string& x) {
    auto it = parent.find(x);
    if (it == parent.end() || it->second == x) return parent[x] = x;
    return it->second = root(it->second);
  };
  for (const auto& o : all)
    for (const auto& id : o.items) parent[root(id)] = root(o.items.front());
  std::map<std::string, std::vector<const Outfit*>> comps;
  for (const auto& o : all) comps[root(o.items.front())].push_back(&o);
  std::vector<std::vector<const Outfit*>> order;
  for (auto& [r, c] : comps) order.push_back(c);
  std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
    return std::hash<std::string>{}(a.front()->id) < std::hash<std::string>{}(b.front()->id);
  });
  const auto largest = std::max_element(
      order.begin(), order.end(), [](const auto& a, const auto& b) { return a.size() < b.size(); });
  std::vector<Outfit> train, test;
  for (auto it = order.begin(); it != order.end(); ++it) {
    const bool to_test = it != largest && test.size() + it->size() <= all.size() / 3 + 2;
    for (const auto* o : *it) (to_test ? test : train).push_back(*o);
  }
  return {train, test};
}

void run_split(const char* name, const Pool& ptr, const Pool& pte, const std::vector<Outfit>& train,
               const std::vector<Outfit>& test, std::mt19937& rng) {
  const Task tr = build(ptr, train, rng, true);
  const Task te = build(pte, test, rng, true);
  std::printf("\n== %s: outfits %zu fit, %zu measured; items %zu fit, %zu measured\n", name,
              train.size(), test.size(), ptr.items.size(), pte.items.size());
  const auto& names = Features::names();
  auto show = [](const char* what, const Scores& s) {
    std::printf("%s: AUC %.3f  FITB %.3f  fill@10 %.3f (family), %.3f (tagged category)\n", what,
                s.auc, s.fitb, s.fill, s.fill_tagged);
  };
  for (int k = 0; k < Features::kCount; ++k) {
    const auto s = measure(te, [k](const Features& f) { return f.values()[k]; });
    show((std::string("  ") + names[k] + " alone").c_str(), s);
  }
  // Chance: FITB 1 in 4; fill@10 ten of each question's candidates.
  double fill_chance = 0;
  for (const auto& [all, real] : te.fill) fill_chance += std::min(1.0, 10.0 / double(all.size()));
  std::printf("  chance: AUC 0.500  FITB 0.250  fill@10 %.3f (family)\n",
              te.fill.empty() ? 0.0 : fill_chance / double(te.fill.size()));
  const CompatWeights d = CompatWeights::defaults();
  show("defaults in the code (measured side)",
       measure(te, [&](const Features& f) { return score(f, d); }));
  const CompatWeights w = fit(swap_pairs(ptr, train, rng), tr);
  if (const char* try_w = std::getenv("FIT_OUTFITS_TRY")) {
    // Weights to compare by hand: "w0 w1 ... w7" (the bias does not rank).
    CompatWeights h = w;
    std::istringstream in(try_w);
    for (auto& x : h.w) in >> x;
    show("tried, on the fitting side", measure(tr, [&](const Features& f) { return score(f, h); }));
    show("tried, on the measured side",
         measure(te, [&](const Features& f) { return score(f, h); }));
  }
  show("fitted, on the fitting side", measure(tr, [&](const Features& f) { return score(f, w); }));
  show("fitted, on the measured side", measure(te, [&](const Features& f) { return score(f, w); }));
  std::printf("  w.bias = %.4f;\n  w.w = {", w.bias);
  for (int k = 0; k < Features::kCount; ++k) std::printf("%s%.4f", k ? ", " : "", w.w[k]);
  std::printf("};\n");
}

}  // namespace

int main(int argc, char** argv) {
  const std::string dir = argc > 1 ? argv[1] : "../shared/data/outfits";
  const std::string models = argc > 2 ? argv[2] : "../shared/models";
  atelier::engines::MobileNetOptions mo;
  mo.model_path = models + "/mobilenet-v2/mobilenet_v2_1.0_224_tf2_fp32.onnx";
  mo.labels_path = models + "/mobilenet-v2/imagenet_labels_1001_coral.txt";
  mo.batching.name = "fit";
  auto enc = atelier::engines::MobileNetEncoder::load(mo);
  if (!enc.is_ok()) {
    std::fprintf(stderr, "%s\n", enc.status().message().c_str());
    return 1;
  }
  Tagger tagger(enc->get(), TaggerWeights::defaults());
  std::ifstream in(dir + "/outfits.json");
  const auto json = nlohmann::json::parse(in);
  Fixture fx;
  for (const auto& o : json) {
    Outfit out{o["id"], {}};
    for (const auto& it : o["items"]) {
      const std::string id = it["item_id"];
      out.items.push_back(id);
      if (fx.raw.count(id)) continue;
      cv::Mat bgr = cv::imread(dir + "/" + it["image"].get<std::string>());
      auto t = tagger.tag(bgr, atelier::WorkContext{});
      if (!t.is_ok()) return 1;
      Item item;
      item.id = id;
      item.auto_tags = t->tags;
      item.embedding = t->embedding;
      fx.raw[id] = item;
      fx.family[id] = it["aggregated_family"];
      const std::string src = it["source_image_path"];
      const auto slash = src.rfind('/');
      fx.year[id] = src.substr(slash + 1, 4);
    }
    fx.outfits.push_back(out);
  }
  const bool styled = std::getenv("FIT_OUTFITS_NO_STYLE") == nullptr;
  std::vector<Outfit> by_id_train, by_id_test;
  for (const auto& o : fx.outfits)
    (std::hash<std::string>{}(o.id) % 3 == 0 ? by_id_test : by_id_train).push_back(o);
  const Pool whole = make_pool(fx, fx.outfits, styled);
  if (const char* dump = std::getenv("FIT_OUTFITS_DUMP")) {
    // Pair terms and tags for offline experiments (never committed output).
    const Pool& p = whole;
    nlohmann::json d;
    std::vector<std::string> ids;
    for (const auto& [id, it] : p.items) ids.push_back(id);
    for (const auto& id : ids) {
      const auto& it = p.items.at(id);
      d["items"].push_back({{"id", id},
                            {"family", p.family.at(id)},
                            {"year", p.year.at(id)},
                            {"occurs", p.occurs.at(id)},
                            {"category", it.category},
                            {"type", it.type},
                            {"color_family", it.color_family},
                            {"formality", it.formality.value_or("")},
                            {"season", it.season},
                            {"palette", [&] {
                               nlohmann::json pal = nlohmann::json::array();
                               for (const auto& [c, share] : it.palette)
                                 pal.push_back({c.L, c.a, c.b, share});
                               return pal;
                             }()}});
    }
    std::vector<std::vector<float>> cosm(ids.size()), ovm(ids.size());
    for (std::size_t i = 0; i < ids.size(); ++i)
      for (std::size_t j = 0; j < ids.size(); ++j) {
        const auto t = pair_terms(p.items.at(ids[i]), p.items.at(ids[j]));
        cosm[i].push_back(float(t.cosine));
        ovm[i].push_back(float(t.overlap));
      }
    d["cos"] = cosm;
    for (const auto& id : ids) d["embedding"].push_back(p.items.at(id).embedding);
    d["overlap"] = ovm;
    for (const auto& o : by_id_train) d["train"].push_back(o.items);
    for (const auto& o : by_id_test) d["test"].push_back(o.items);
    std::ofstream(dump) << d;
  }
  std::mt19937 rng(20261126);
  const auto [train, test] = item_disjoint(fx.outfits);
  // The fitting side sees only its own items; the measured outfits, never
  // seen in fitting, are scored against the whole fixture as the wardrobe
  // (about the size of the never-seen set: ~1,100 items).
  std::size_t dropped = 0;
  const auto [gtrain, gtest] = item_disjoint_greedy(fx.outfits, &dropped);
  std::printf("\n(greedy item-disjoint split: %zu outfits with items on both sides left out)\n",
              dropped);
  run_split("item-disjoint, greedy (fitted on its own items only; the weights are chosen here)",
            make_pool(fx, gtrain, styled), whole, gtrain, gtest, rng);
  run_split("item-disjoint, whole components (fitted on its own items only)",
            make_pool(fx, train, styled), whole, train, test, rng);
  run_split("by outfit id (items recur on both sides; the fixture as one wardrobe)", whole, whole,
            by_id_train, by_id_test, rng);
  return 0;
}
