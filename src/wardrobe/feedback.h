// What a person told atelier about items and outfits (like, dislike, wore,
// skip), the repository that keeps it, and the preference model learned from
// it: a taste direction in embedding space, colour-family leanings, pair
// affinities, and personal weights over the compatibility features, updated
// online from the global ones (the seed's "adaptive fusion").
//
// Thread safety: the repository's methods may be called from any thread;
// Preferences is a value.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "store/database.h"
#include "wardrobe/compatibility.h"
#include "wardrobe/item.h"

namespace atelier::wardrobe {

inline const std::vector<std::string>& feedback_events() {
  static const std::vector<std::string> k = {"like", "dislike", "wore", "skip"};
  return k;
}

// The context an item or outfit was shown in.
struct FeedbackContext {
  std::optional<std::string> occasion, season;
  std::optional<std::string> source;  // "recommend", "evaluate", "fill", "browse"
};

struct Feedback {
  std::string id;  // "fb_..."
  std::string owner;
  std::string event;
  std::vector<std::string> item_ids;  // one item, or an outfit's items
  FeedbackContext context;
  std::int64_t created_at = 0;  // ms since the epoch
};

class FeedbackRepository {
 public:
  explicit FeedbackRepository(db::Database& db) : db_(db) {}
  FeedbackRepository in(const WorkContext& work) const {
    FeedbackRepository r(db_);
    r.work_ = work;
    return r;
  }
  Status add(const Feedback& f);
  // The owner's latest `limit` events, oldest first.
  Result<std::vector<Feedback>> recent(const std::string& owner, int limit);
  Status remove_owner(const std::string& owner);

 private:
  db::Database& db_;
  WorkContext work_;
};

struct PairAffinity {
  std::string a, b;  // item ids, a < b
  double affinity = 0;
};

// What the events say about one person.
struct Preferences {
  int likes = 0, dislikes = 0, wore = 0, skips = 0;
  std::vector<float> taste;  // liked minus disliked, L2-normalised; may be empty
  std::map<std::string, double> color_families;  // in [-1, 1]: liked (+) or disliked (-)
  std::map<std::string, double> pair_affinity;  // "a|b" -> liked or worn together (+), disliked (-)
  CompatWeights weights;                        // the global ones, moved by outfit feedback
  std::map<std::string, std::int64_t> last_worn;   // item id -> ms
  std::vector<std::vector<std::string>> disliked;  // outfits (sorted ids) disliked

  // Learns from `events` (oldest first) over the owner's items (placed in
  // their style space when given).
  static Preferences learn(const std::vector<Feedback>& events, const std::vector<Item>& items,
                           const CompatWeights& global,
                           const std::shared_ptr<const StyleSpace>& space = nullptr);
  // A personal score for an outfit: the personal weights over its features,
  // plus taste, colour and pair terms. `why` (optional) gets the sentences
  // that say which preference moved it.
  double score(const std::vector<const Item*>& items, const Features& f,
               std::vector<std::string>* why = nullptr) const;
  bool disliked_outfit(std::vector<std::string> ids) const;
  bool empty() const { return likes + dislikes + wore + skips == 0; }
};

}  // namespace atelier::wardrobe
