// Outfits from a wardrobe: evaluate items together, complete anchors with the
// best item of a category ("fill in the blank"), and build whole outfits for
// an occasion, a season and the weather. Scores come from compatibility.h.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"
#include "wardrobe/compatibility.h"
#include "wardrobe/feedback.h"
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

struct OutfitSettings {
  CompatWeights weights = CompatWeights::defaults();
  int worn_days = 7;                     // items worn this recently are left out of recommendations
  int feedback_window = 1000;            // the latest events a preference model learns from
  std::function<std::int64_t()> now_ms;  // wall clock (ms); injectable for tests
};

class OutfitService {
 public:
  OutfitService(ItemRepository& repo, FeedbackRepository& feedback, const Tagger& tagger,
                OutfitSettings settings);

  // The caller's items by id (not_found for any that is not theirs).
  Result<Evaluation> evaluate_items(const std::string& owner, const std::vector<std::string>& ids,
                                    const WorkContext& work);
  // Photos sent inline: tagged like uploads, not stored; their looks are
  // placed in the owner's wardrobe (empty owner: none).
  Result<Evaluation> evaluate_inline(const std::string& owner, const std::vector<InlineItem>& items,
                                     const WorkContext& work);
  // Pieces of what a person in a photo wears (vision's outfit questions):
  // each region tagged like an upload, its category as given, then evaluated.
  Result<engines::OutfitJudgement> judge(const cv::Mat& bgr,
                                         const std::vector<engines::OutfitPiece>& pieces,
                                         const WorkContext& work);
  Result<Recommendation> recommend(const std::string& owner, const RecommendRequest& r,
                                   const WorkContext& work);
  Result<std::vector<Ranked>> fill(const std::string& owner, const FillRequest& r,
                                   const WorkContext& work);

  // Records a like, dislike, wore or skip of one item or an outfit (1 to 9 of
  // the owner's items); not_found for an item that is not theirs.
  Result<Feedback> add_feedback(const std::string& owner, const std::string& event,
                                const std::vector<std::string>& item_ids,
                                const FeedbackContext& context, const WorkContext& work);
  Result<Preferences> preferences(const std::string& owner, const WorkContext& work);
  // Account export and deletion.
  Result<std::vector<Feedback>> feedback_of(const std::string& owner) {
    return feedback_.recent(owner, 1'000'000);
  }
  // The owner's feedback, and the style space cached for them.
  Status delete_owner(const std::string& owner) {
    styles_.forget(owner);
    return feedback_.remove_owner(owner);
  }

  const CompatWeights& weights() const { return settings_.weights; }
  // Feedback events recorded by this process, by event (for /metrics).
  std::uint64_t feedback_count(const std::string& event) const;
  // The owners' style spaces (for /v1/index/stats and /metrics).
  const StyleCache& styles() const { return styles_; }

 private:
  Result<std::vector<Item>> owned(const std::string& owner, const std::vector<std::string>& ids,
                                  const std::vector<Item>& all);
  // The owner's style space, read through the cache (one version query on a hit).
  Result<std::shared_ptr<const StyleSpace>> style_space(const std::string& owner,
                                                        const WorkContext& work);

  ItemRepository& repo_;
  FeedbackRepository& feedback_;
  const Tagger& tagger_;
  OutfitSettings settings_;
  const CompatWeights& weights_ = settings_.weights;
  std::array<std::atomic<std::uint64_t>, 4> feedback_counts_{};  // feedback_events() order
  StyleCache styles_;
};

// The formality levels an occasion accepts.
Result<std::vector<std::string>> occasion_formalities(const std::string& occasion);

}  // namespace atelier::wardrobe
