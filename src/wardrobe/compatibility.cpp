#include "wardrobe/compatibility.h"

#include "core/vec.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>

namespace atelier::wardrobe {

namespace {

double chroma(const vision::Lab& c) {
  return std::hypot(c.a, c.b);
}
double hue_deg(const vision::Lab& c) {
  double h = std::atan2(c.b, c.a) * 180.0 / M_PI;
  return h < 0 ? h + 360 : h;
}
double delta_e76(const vision::Lab& x, const vision::Lab& y) {
  return std::sqrt((x.L - y.L) * (x.L - y.L) + (x.a - y.a) * (x.a - y.a) +
                   (x.b - y.b) * (x.b - y.b));
}
// The style feature of an outfit with no style points (a photo sent inline by
// someone with no wardrobe): its mean over the fixture's outfits, real and
// swapped (bench_fit_outfits prints it), so it moves no score.
constexpr double kStyleUnknown = 0.464;

// A colour reads as neutral (black, white, grey, cream) below this chroma.
constexpr double kNeutralChroma = 15;

bool chromatic(const OutfitItem& it) {
  return !it.palette.empty() && chroma(it.palette[0].first) >= kNeutralChroma;
}

int formality_level(const std::string& f) {
  const auto& all = formalities();
  return static_cast<int>(std::find(all.begin(), all.end(), f) - all.begin());
}

std::string list_words(const std::vector<std::string>& w) {
  std::string s;
  for (std::size_t i = 0; i < w.size(); ++i) {
    if (i > 0) s += i + 1 == w.size() ? " and " : ", ";
    s += w[i];
  }
  return s;
}

std::string capitalised(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

// "is" or "are" for a list of labels.
const char* be(const std::vector<std::string>& labels, bool plural) {
  return labels.size() > 1 || plural ? "are" : "is";
}

// The category's plural as a count noun ("bottoms", "pairs of footwear").
std::string counted(const std::string& category) {
  if (category == "dress") return "dresses";
  if (category == "outerwear") return "pieces of outerwear";
  if (category == "footwear") return "pairs of footwear";
  return category + "s";
}

std::string number_word(std::size_t n) {
  static const char* w[] = {"no",   "one", "two",   "three", "four",
                            "five", "six", "seven", "eight", "nine"};
  return n < 10 ? w[n] : std::to_string(n);
}

// Hue relation of two chromatic colours.
const char* hue_relation(double dh) {
  if (dh < 35) return "analogous";
  if (dh >= 150) return "complementary";
  if (dh >= 105 && dh <= 135) return "triadic";
  return "";
}

double hue_distance(const vision::Lab& x, const vision::Lab& y) {
  const double d = std::abs(hue_deg(x) - hue_deg(y));
  return d > 180 ? 360 - d : d;
}

}  // namespace

OutfitItem outfit_item(const Item& it, const std::shared_ptr<const StyleSpace>& space) {
  OutfitItem o;
  o.id = it.id;
  o.category = it.category();
  o.type = it.type();
  o.color_family = it.color_family();
  for (const auto& c : it.auto_tags.colors) {
    unsigned r = 0, g = 0, b = 0;
    if (c.hex.size() == 7 && std::sscanf(c.hex.c_str(), "#%02x%02x%02x", &r, &g, &b) == 3)
      o.palette.emplace_back(vision::srgb_to_lab(int(r), int(g), int(b)), c.share);
  }
  o.embedding = it.embedding;
  o.formality = it.formality();
  o.pattern = it.pattern();
  o.season = it.season();
  const std::string what = o.type.empty() ? o.category : o.type;
  o.label = it.name.empty() ? "the " + (o.color_family.empty() ? "" : o.color_family + " ") + what
                            : it.name;
  // Jeans, sandals, earrings, sunglasses: named by a plural noun (a user's
  // own name is taken as one thing).
  o.plural =
      it.name.empty() && what.size() > 2 && what.back() == 's' && what[what.size() - 2] != 's';
  if (space) {
    if (const StylePoint* p = it.id.empty() ? nullptr : space->find(it.id)) {
      o.style = std::shared_ptr<const StylePoint>(space, p);  // shares the space's lifetime
    } else if (auto placed = space->place(o.category, it.embedding)) {
      o.style = std::make_shared<const StylePoint>(std::move(*placed));
    }
  }
  return o;
}

Features features(const std::vector<OutfitItem>& items) {
  std::vector<const OutfitItem*> p;
  p.reserve(items.size());
  for (const auto& it : items) p.push_back(&it);
  return features(p);
}

PairTerms pair_terms(const OutfitItem& first, const OutfitItem& second) {
  // Summed in one order whichever item comes first, so a pair's terms are the
  // same bits both ways (the ranking cache relies on it).
  auto key = [](const OutfitItem& o) {
    std::vector<double> k;
    for (const auto& [c, share] : o.palette) k.insert(k.end(), {c.L, c.a, c.b, share});
    return k;
  };
  const bool swap = key(second) < key(first);
  const OutfitItem& a = swap ? second : first;
  const OutfitItem& b = swap ? first : second;
  PairTerms t;
  for (const auto& [x, sx] : a.palette)
    for (const auto& [y, sy] : b.palette) {
      const double d = delta_e76(x, y) / 20.0;
      t.overlap += sx * sy * std::exp(-d * d);
    }
  if (chromatic(a) && chromatic(b)) {
    t.chromatic = true;
    const std::string rel = hue_relation(hue_distance(a.palette[0].first, b.palette[0].first));
    t.hue = rel == "analogous" ? 1.0 : rel == "complementary" ? 0.8 : rel == "triadic" ? 0.6 : 0.3;
  }
  if (!a.embedding.empty() && a.embedding.size() == b.embedding.size()) {
    t.embedded = true;
    t.cosine = dot(a.embedding.data(), b.embedding.data(), a.embedding.size());
  }
  const int ca = category_index(a.category), cb = category_index(b.category);
  if (a.style && b.style && ca >= 0 && cb >= 0) {
    t.styled = true;
    t.style = style_similarity(*a.style, ca, *b.style, cb);
  }
  return t;
}

const PairTerms& PairCache::get(const OutfitItem* a, const OutfitItem* b) {
  const auto key = a < b ? std::make_pair(a, b) : std::make_pair(b, a);
  auto it = terms_.find(key);
  if (it == terms_.end()) it = terms_.emplace(key, pair_terms(*key.first, *key.second)).first;
  return it->second;
}

Features features(const std::vector<const OutfitItem*>& items, PairCache* cache) {
  Features f;
  const std::size_t n = items.size();
  double palette = 0, visual = 0, style = 0;
  int pairs = 0, visual_pairs = 0, hue_pairs = 0, style_pairs = 0;
  double hues = 0;
  for (std::size_t i = 0; i < n; ++i) {
    for (std::size_t j = i + 1; j < n; ++j) {
      PairTerms fresh;
      if (!cache) fresh = pair_terms(*items[i], *items[j]);
      const PairTerms& t = cache ? cache->get(items[i], items[j]) : fresh;
      ++pairs;
      palette += t.overlap;
      if (t.chromatic) {
        ++hue_pairs;
        hues += t.hue;
      }
      if (t.embedded) {
        visual += t.cosine;
        ++visual_pairs;
      }
      if (t.styled) {
        style += t.style;
        ++style_pairs;
      }
    }
  }
  f.styled = style_pairs > 0;
  f.style = f.styled ? std::clamp((1.0 + style / style_pairs) / 2.0, 0.0, 1.0) : kStyleUnknown;
  f.palette = pairs ? palette / pairs : 0;
  f.hues = hue_pairs ? hues / hue_pairs : 1.0;
  f.visual = visual_pairs ? std::clamp(visual / visual_pairs, 0.0, 1.0) : 0.5;
  // Accent colours: distinct hue sectors (30 degrees) among chromatic items.
  std::set<int> sectors;
  for (const OutfitItem* it : items)
    if (chromatic(*it)) sectors.insert(int(hue_deg(it->palette[0].first) / 30.0));
  f.accents = sectors.size() <= 1   ? 1.0
              : sectors.size() == 2 ? 0.7
              : sectors.size() == 3 ? 0.4
                                    : 0.2;
  std::vector<int> levels;
  for (const OutfitItem* it : items)
    if (it->formality) levels.push_back(formality_level(*it->formality));
  if (levels.size() >= 2) {
    const auto [lo, hi] = std::minmax_element(levels.begin(), levels.end());
    f.formality = 1.0 - double(*hi - *lo) / 3.0;
  } else {
    f.formality = 0.75;
  }
  std::vector<const OutfitItem*> with_season;
  for (const OutfitItem* it : items)
    if (!it->season.empty()) with_season.push_back(it);
  if (with_season.size() >= 2) {
    std::set<std::string> common(with_season[0]->season.begin(), with_season[0]->season.end());
    for (const auto* it : with_season) {
      std::set<std::string> next;
      for (const auto& s : it->season)
        if (common.count(s)) next.insert(s);
      common = next;
    }
    f.season = common.empty() ? 0.0 : 1.0;
  } else {
    f.season = 0.75;
  }
  std::map<std::string, int> count;
  for (const OutfitItem* it : items) ++count[it->category];
  int faults = 0;
  for (const char* one : {"bottom", "dress", "outerwear", "footwear", "bag"})
    faults += std::max(0, count[one] - 1);
  faults += std::max(0, count["top"] - 2);
  faults += std::max(0, count["accessory"] - 4);
  if (count["dress"] > 0 && count["bottom"] > 0) ++faults;
  const bool core = (count["top"] > 0 && count["bottom"] > 0) || count["dress"] > 0;
  f.structure = std::clamp((core ? 1.0 : 0.7) - 0.25 * faults, 0.0, 1.0);
  return f;
}

const std::array<const char*, Features::kCount>& Features::names() {
  static const std::array<const char*, kCount> k = {"palette", "hues",      "accents", "formality",
                                                    "season",  "structure", "visual",  "style"};
  return k;
}

Aspects aspects_of(const Features& f) {
  // Visual compatibility: the looks within the wardrobe when known, else the
  // photos' plain likeness.
  return {(f.palette + f.hues + f.accents) / 3.0, f.formality, f.structure,
          f.styled ? f.style : f.visual};
}

CompatWeights CompatWeights::defaults() {
  // bench_fit_outfits on the MANGO outfits fixture, 2026-12-07: pairwise
  // logistic loss on one-item swaps (drawn as FITB draws and as fill ranks),
  // standardised, weights kept >= 0; then the bias. Fitted on the fitting
  // side of the greedy item-disjoint split (255 outfits, their 654 items
  // only). With the category probe's tags, on the measured side (135
  // outfits sharing no item with them, in a wardrobe of the whole fixture):
  // AUC 0.835, FITB 0.578, fill recall@10 0.378 (family candidates) and
  // 0.437 (tagged-category candidates); the palette alone 0.757 / 0.519 /
  // 0.304. Refitted with the probe's tags, the fit scored a little lower on
  // its own side (0.741 / 0.569 / 0.404 against 0.764 / 0.553 / 0.412), so
  // these stay. The style of the looks within the wardrobe carries most of
  // it; hue relations, formality and the raw photo likeness carried no
  // weight on these outfits (MANGO's are mostly neutral, one line, one
  // season); they still explain.
  CompatWeights w;
  w.bias = -17.5651;
  w.w = {5.6794, 0.0, 0.4136, 0.0, 0.0941, 3.4844, 0.0, 27.9157};
  return w;
}

double score(const Features& f, const CompatWeights& w) {
  double z = w.bias;
  const auto v = f.values();
  for (int k = 0; k < Features::kCount; ++k) z += w.w[k] * v[k];
  return 1.0 / (1.0 + std::exp(-z));
}

namespace {

// The feature that costs the score most (weight times shortfall); -1 when
// none costs anything. Features that are unknown for these items (no style
// points, no embeddings) are no reason.
int lowering_feature(const Features& f, const CompatWeights& w,
                     const std::vector<OutfitItem>& items) {
  const auto count = [&](auto has) { return std::count_if(items.begin(), items.end(), has); };
  // Known: every item has an embedding; two or more have a formality, a season.
  const bool embedded = count([](const OutfitItem& it) { return !it.embedding.empty(); }) ==
                        static_cast<std::ptrdiff_t>(items.size());
  const bool formal = count([](const OutfitItem& it) { return it.formality.has_value(); }) >= 2;
  const bool seasonal = count([](const OutfitItem& it) { return !it.season.empty(); }) >= 2;
  const auto v = f.values();
  int worst = -1;
  double cost = 1e-9;
  for (int k = 0; k < Features::kCount; ++k) {
    const std::string name = Features::names()[static_cast<std::size_t>(k)];
    if ((name == "style" && !f.styled) || (name == "visual" && !embedded) ||
        (name == "formality" && !formal) || (name == "season" && !seasonal))
      continue;
    const double c = w.w[static_cast<std::size_t>(k)] * (1.0 - v[static_cast<std::size_t>(k)]);
    if (c > cost) {
      cost = c;
      worst = k;
    }
  }
  return worst;
}

// The pair that does worst on a pair feature ("style" or "palette"): their
// labels, or empty when no pair has it.
std::pair<std::string, std::string> worst_pair(const std::vector<OutfitItem>& items,
                                               const std::string& feature) {
  std::pair<std::string, std::string> out;
  double least = 2.0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    for (std::size_t j = i + 1; j < items.size(); ++j) {
      const PairTerms t = pair_terms(items[i], items[j]);
      const bool has = feature == "style" ? t.styled : true;
      const double value = feature == "style" ? t.style : t.overlap;
      if (has && value < least) {
        least = value;
        out = {items[i].label, items[j].label};
      }
    }
  }
  return out;
}

std::string lowering_sentence(const std::string& feature, const std::vector<OutfitItem>& items) {
  const std::string lead = "What lowers the score most: ";
  if (feature == "style" || feature == "palette") {
    const auto [a, b] = worst_pair(items, feature);
    if (!a.empty())
      return lead + a + " and " + b +
             (feature == "style" ? " are rarely worn in the same looks."
                                 : " have the least colour in common.");
    return lead + (feature == "style" ? "the pieces are rarely worn in the same looks."
                                      : "the pieces share little colour.");
  }
  if (feature == "structure") return lead + "the pieces do not make one wearable outfit.";
  if (feature == "hues")
    return lead + "the accent colours neither match nor complement each other.";
  if (feature == "accents") return lead + "there are several accent colours.";
  if (feature == "formality") return lead + "the pieces differ in formality.";
  if (feature == "season") return lead + "the pieces have no season in common.";
  return lead + "the photos look unalike.";
}

}  // namespace

Evaluation evaluate(const std::vector<OutfitItem>& items, const CompatWeights& w) {
  Evaluation e;
  const Features f = features(items);
  e.aspects = aspects_of(f);
  e.score = score(f, w);
  e.verdict = e.score >= 0.6 ? "goes well together" : e.score >= 0.4 ? "works" : "clashes";
  auto& out = e.explanation;
  // Below "goes well together", the first sentence says what costs most.
  if (e.score < 0.6) {
    if (const int k = lowering_feature(f, w, items); k >= 0) {
      e.lowered_by = Features::names()[static_cast<std::size_t>(k)];
      out.push_back(lowering_sentence(e.lowered_by, items));
    }
  }

  // Colour: what the tags say about the items' colours.
  std::vector<std::string> neutral, accent;
  for (const auto& it : items) (chromatic(it) ? accent : neutral).push_back(it.label);
  std::map<std::string, std::vector<std::string>> by_family;
  for (const auto& it : items)
    if (!it.color_family.empty()) by_family[it.color_family].push_back(it.label);
  for (const auto& [family, labels] : by_family) {
    if (labels.size() >= 2)
      out.push_back(capitalised(list_words(labels)) +
                    (labels.size() == 2 ? " are both " : " are all ") + family + ".");
  }
  if (accent.empty()) {
    out.push_back("Every item is in a neutral colour, so the colours cannot clash.");
  } else if (accent.size() == 1) {
    out.push_back("The only accent colour comes from " + accent[0] + "; the rest is neutral.");
  } else {
    for (std::size_t i = 0; i < items.size(); ++i) {
      for (std::size_t j = i + 1; j < items.size(); ++j) {
        if (!chromatic(items[i]) || !chromatic(items[j])) continue;
        const std::string rel =
            hue_relation(hue_distance(items[i].palette[0].first, items[j].palette[0].first));
        if (rel.empty()) {
          out.push_back(capitalised(items[i].label) + " and " + items[j].label +
                        " have hues that neither match nor complement each other.");
        } else if (items[i].color_family != items[j].color_family) {
          out.push_back(capitalised(items[i].label) + " and " + items[j].label + " are " + rel +
                        " colours.");
        }
      }
    }
  }
  // Formality.
  std::map<int, std::vector<std::string>> by_level;
  std::map<int, bool> level_plural;  // a lone label at the level is a plural noun
  for (const auto& it : items)
    if (it.formality) {
      const int l = formality_level(*it.formality);
      by_level[l].push_back(it.label);
      level_plural[l] = it.plural;
    }
  if (by_level.size() == 1 && by_level.begin()->second.size() >= 2) {
    const auto& labels = by_level.begin()->second;
    out.push_back(capitalised(list_words(labels)) +
                  (labels.size() == 2 ? " are both " : " are all ") +
                  formalities()[by_level.begin()->first] + ".");
  } else if (by_level.size() >= 2) {
    const auto& lo = *by_level.begin();
    const auto& hi = *by_level.rbegin();
    out.push_back(capitalised(list_words(hi.second)) + " " + be(hi.second, level_plural[hi.first]) +
                  " " + formalities()[hi.first] + " while " + list_words(lo.second) + " " +
                  be(lo.second, level_plural[lo.first]) + " " + formalities()[lo.first] + ".");
  }
  // Structure.
  std::map<std::string, std::vector<std::string>> by_category;
  for (const auto& it : items) by_category[it.category].push_back(it.label);
  for (const char* one : {"bottom", "dress", "outerwear", "footwear", "bag"}) {
    const auto& l = by_category[one];
    if (l.size() > 1)
      out.push_back("It has " + number_word(l.size()) + " " + counted(one) + ": " + list_words(l) +
                    ".");
  }
  if (!by_category["dress"].empty() && !by_category["bottom"].empty())
    out.push_back("A dress and a bottom are rarely worn together.");
  const bool core = (!by_category["top"].empty() && !by_category["bottom"].empty()) ||
                    !by_category["dress"].empty();
  if (!core) out.push_back("It has no top and bottom and no dress, so it is not a full outfit.");
  // Seasons.
  if (f.season == 0.0) out.push_back("The items have no season in common.");
  // Looks (the embeddings, not a tag).
  if (f.visual >= 0.45) out.push_back("The photos look alike in style.");
  return e;
}

}  // namespace atelier::wardrobe
