// Outfits from a wardrobe: evaluate items together, complete anchors with the
// best item of a category ("fill in the blank"), and build whole outfits for
// an occasion, a season and the weather. Scores come from compatibility.h.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"
#include "wardrobe/compatibility.h"
#include "wardrobe/item_repository.h"
#include "wardrobe/tagger.h"

namespace atelier::wardrobe {

inline constexpr std::size_t kMinOutfitItems = 2;
inline constexpr std::size_t kMaxOutfitItems = 9;

// An item sent inline (a photo, and any tag the caller knows).
struct InlineItem {
  cv::Mat bgr;
  UserTags tags;
  std::string name;
};

struct Weather {
  std::optional<double> temperature_c;
  std::optional<double> precipitation;  // chance of rain, 0..1
};

struct RecommendRequest {
  std::vector<std::string> anchor_item_ids;
  std::vector<std::string> exclude_item_ids;
  std::optional<std::string> occasion;  // casual, work, formal, party, sport
  std::optional<std::string> season;
  Weather weather;
  int count = 5;
  std::uint64_t seed = 0;
};

struct FillRequest {
  std::vector<std::string> anchor_item_ids;
  std::string category;
  std::optional<std::string> type;
  int k = 10;
};

struct Outfit {
  std::vector<std::string> item_ids;
  Evaluation evaluation;
};

struct Recommendation {
  std::vector<Outfit> outfits;
  std::string note;  // why there are fewer than asked (empty wardrobe, no footwear, ...)
};

struct Ranked {
  std::string item_id;
  double score = 0;
  std::vector<std::string> explanation;
};

class OutfitService {
 public:
  OutfitService(ItemRepository& repo, const Tagger& tagger, CompatWeights weights)
      : repo_(repo), tagger_(tagger), weights_(weights) {}

  // The caller's items by id (not_found for any that is not theirs).
  Result<Evaluation> evaluate_items(const std::string& owner, const std::vector<std::string>& ids,
                                    const WorkContext& work);
  // Photos sent inline: tagged like uploads, not stored.
  Result<Evaluation> evaluate_inline(const std::vector<InlineItem>& items, const WorkContext& work);
  Result<Recommendation> recommend(const std::string& owner, const RecommendRequest& r,
                                   const WorkContext& work);
  Result<std::vector<Ranked>> fill(const std::string& owner, const FillRequest& r,
                                   const WorkContext& work);

  const CompatWeights& weights() const { return weights_; }

 private:
  Result<std::vector<Item>> owned(const std::string& owner, const std::vector<std::string>& ids,
                                  const std::vector<Item>& all);

  ItemRepository& repo_;
  const Tagger& tagger_;
  CompatWeights weights_;
};

// The formality levels an occasion accepts.
Result<std::vector<std::string>> occasion_formalities(const std::string& occasion);

}  // namespace atelier::wardrobe
