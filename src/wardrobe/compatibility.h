// How well items go together: an outfit's score in [0, 1] from aspect scores
// that each say something a person can check (colour harmony, formality
// agreement, structure: is this a wearable outfit, visual compatibility of
// the photos), combined by a few weights fitted on the MANGO outfits fixture
// (bench_fit_outfits; the fixture itself is never shipped). Explanations name
// the items and say why, and every claim in them is true of the items' tags.
//
// Thread safety: pure functions.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vision/colors.h"
#include "wardrobe/item.h"
#include "wardrobe/style.h"

namespace atelier::wardrobe {

// What compatibility reads of an item.
struct OutfitItem {
  std::string id;       // the wardrobe item's id, or "item 1".. for photos sent inline
  std::string label;    // how explanations name it ("the navy jeans")
  bool plural = false;  // the label takes "are" ("the navy jeans", "the black sandals")
  std::string category;
  std::string type;  // "" when unknown
  std::string color_family;
  std::vector<std::pair<vision::Lab, double>> palette;  // colours and their shares
  std::vector<float> embedding;                         // L2-normalised; may be empty
  std::optional<std::string> formality, pattern;
  std::vector<std::string> season;
  // Its place in the owner's style space (style.h); null when unknown.
  std::shared_ptr<const StylePoint> style;
};

// From a stored item (its effective tags), placed in `space` when given (an
// item of the space by id, any other by its embedding).
OutfitItem outfit_item(const Item& item, const std::shared_ptr<const StyleSpace>& space = nullptr);

// The features an outfit is scored on, each in [0, 1] (higher = goes better
// together). The aspects callers see are made of them.
struct Features {
  double palette = 0;    // the items share colours (CIELAB overlap of their palettes)
  double hues = 0;       // the chromatic colours are analogous or complementary
  double accents = 0;    // few accent colours (1 with none or one)
  double formality = 0;  // formality levels agree (0.75 when fewer than two are known)
  double season = 0;     // a season common to all (0.75 when fewer than two are known)
  double structure = 0;  // a wearable outfit: top+bottom or a dress, no two of a kind
  double visual = 0;     // how alike the photos look (mean cosine of embeddings)
  // How alike their looks are within the owner's wardrobe (style.h), mapped
  // to [0, 1]; kStyleUnknown when no pair has style points.
  double style = 0;
  bool styled = false;  // some pair had style points
  static constexpr int kCount = 8;
  std::array<double, kCount> values() const {
    return {palette, hues, accents, formality, season, structure, visual, style};
  }
  // Names of values(), in order (weights in JSON).
  static const std::array<const char*, kCount>& names();
};
Features features(const std::vector<OutfitItem>& items);

// What one pair of items contributes to an outfit's features.
struct PairTerms {
  double overlap = 0;      // palette overlap
  bool chromatic = false;  // both have an accent colour: `hue` counts
  double hue = 0;          // hue relation score
  bool embedded = false;   // both have embeddings of one size: `cosine` counts
  double cosine = 0;
  bool styled = false;  // both have style points: `style` counts
  double style = 0;     // style_similarity()
};
PairTerms pair_terms(const OutfitItem& a, const OutfitItem& b);

// Pair terms remembered across the many outfits a ranking scores, which
// share most of their pairs. Keyed by the items' addresses: they must not
// move while the cache is used. Not thread-safe (one per request).
class PairCache {
 public:
  const PairTerms& get(const OutfitItem* a, const OutfitItem* b);

 private:
  struct Hash {
    std::size_t operator()(const std::pair<const OutfitItem*, const OutfitItem*>& p) const {
      return std::hash<const void*>()(p.first) * 31 + std::hash<const void*>()(p.second);
    }
  };
  std::unordered_map<std::pair<const OutfitItem*, const OutfitItem*>, PairTerms, Hash> terms_;
};

// The same over items held elsewhere (ranking many candidates without
// copies), with pair terms from `cache` when given: the result is identical.
Features features(const std::vector<const OutfitItem*>& items, PairCache* cache = nullptr);

// The aspects shown to callers.
struct Aspects {
  double color = 0;
  double formality = 0;
  double structure = 0;
  double visual = 0;
};
Aspects aspects_of(const Features& f);

struct CompatWeights {
  double bias = 0;
  std::array<double, Features::kCount> w{};
  static CompatWeights defaults();
};

// The logistic score alone (what ranking needs).
double score(const Features& f, const CompatWeights& w);

struct Evaluation {
  double score = 0;
  std::string verdict;  // "goes well together", "works", "clashes"
  Aspects aspects;
  // Below "goes well together": the feature (Features::names()) that costs
  // the score most, weight times shortfall from its best; the explanation's
  // first sentence names it. Empty otherwise.
  std::string lowered_by;
  std::vector<std::string> explanation;
};

// 2 to 9 items (the caller checks the count).
Evaluation evaluate(const std::vector<OutfitItem>& items, const CompatWeights& w);

}  // namespace atelier::wardrobe
