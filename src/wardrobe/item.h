// A wardrobe item: the photo, what the tagger saw in it (auto tags) and what
// the owner said (user tags, kept apart: a correction wins over auto tags
// forever, and a re-tag never overwrites it), and its image embedding.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/page_cursor.h"

namespace atelier::wardrobe {

// The closed set of categories ("dress" covers dresses and jumpsuits).
inline const std::vector<std::string>& categories() {
  static const std::vector<std::string> k = {"top",      "bottom", "dress",    "outerwear",
                                             "footwear", "bag",    "accessory"};
  return k;
}
inline constexpr int kCategoryCount = 7;  // categories().size()
// The category's place in categories(), or -1.
inline int category_index(std::string_view c) {
  const auto& all = categories();
  for (std::size_t i = 0; i < all.size(); ++i)
    if (all[i] == c) return static_cast<int>(i);
  return -1;
}
inline const std::vector<std::string>& patterns() {
  static const std::vector<std::string> k = {"solid",  "striped", "checked",
                                             "dotted", "floral",  "printed"};
  return k;
}
// From the most relaxed to the most formal.
inline const std::vector<std::string>& formalities() {
  static const std::vector<std::string> k = {"casual", "smart casual", "business", "formal"};
  return k;
}
inline const std::vector<std::string>& warmths() {
  static const std::vector<std::string> k = {"light", "medium", "warm"};
  return k;
}
inline const std::vector<std::string>& seasons() {
  static const std::vector<std::string> k = {"spring", "summer", "autumn", "winter"};
  return k;
}

// A tag the tagger assigned, with its confidence in [0, 1].
struct Scored {
  std::string value;
  double confidence = 0;
};

struct ItemColour {
  std::string hex;     // "#1f2a44"
  std::string name;    // nearest CSS name
  std::string family;  // plain family: "navy", "white", "beige", ...
  double share = 0;    // of the item's own pixels (the background left out)
};

struct AutoTags {
  Scored category;
  // Probability of each category, for the confidences callers see.
  std::vector<std::pair<std::string, double>> category_scores;
  std::optional<Scored> type;  // absent when nothing named it with confidence
  std::vector<ItemColour> colors;
  std::string color_family;  // the dominant colour's family
  std::optional<Scored> pattern;
  std::optional<Scored> formality;
  std::optional<Scored> warmth;
  std::vector<std::string> season;  // empty when unknown
  double season_confidence = 0;
  bool plain_background = false;  // a product shot: colours are the item's alone
};

// What the owner set; every field may be absent.
struct UserTags {
  std::optional<std::string> category, type, color_family, pattern, formality, warmth;
  std::optional<std::vector<std::string>> season;
};

struct Item {
  std::string id;  // "wi_..."
  std::string owner;
  std::string name, brand, notes;
  std::string blob;  // content hash in the wardrobe's blob store
  std::string content_type;
  int width = 0, height = 0;
  AutoTags auto_tags;
  UserTags user_tags;
  std::vector<float> embedding;  // L2-normalised image embedding of the item
  std::string embedding_model;
  // L2-normalised text embedding of its tags and words (tag_text()); empty
  // when no text model was loaded.
  std::vector<float> tag_embedding;
  std::string tag_embedding_model;
  std::int64_t created_at = 0;  // ms since the epoch
  std::int64_t updated_at = 0;

  // Effective tags: the owner's correction, else the tagger's.
  std::string category() const { return user_tags.category.value_or(auto_tags.category.value); }
  std::string type() const {
    if (user_tags.type) return *user_tags.type;
    return auto_tags.type ? auto_tags.type->value : std::string();
  }
  std::string color_family() const {
    return user_tags.color_family.value_or(auto_tags.color_family);
  }
  std::optional<std::string> pattern() const {
    if (user_tags.pattern) return user_tags.pattern;
    return auto_tags.pattern ? std::optional(auto_tags.pattern->value) : std::nullopt;
  }
  std::optional<std::string> formality() const {
    if (user_tags.formality) return user_tags.formality;
    return auto_tags.formality ? std::optional(auto_tags.formality->value) : std::nullopt;
  }
  std::optional<std::string> warmth() const {
    if (user_tags.warmth) return user_tags.warmth;
    return auto_tags.warmth ? std::optional(auto_tags.warmth->value) : std::nullopt;
  }
  std::vector<std::string> season() const { return user_tags.season.value_or(auto_tags.season); }
};

struct ItemFilter {
  std::optional<std::string> category, type, color_family, season;
  std::optional<std::string> text;  // in name, brand, notes or type (case-insensitive)
};

struct ItemPage {
  std::vector<Item> items;
  std::optional<PagePosition> next;  // where the next page starts (newest first)
};

}  // namespace atelier::wardrobe
