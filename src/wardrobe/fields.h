// What clients send about wardrobe items, parsed and checked before anything
// is stored: the owner's tags (a JSON body, or form fields), the item's text
// (name, brand, notes) and the body of a PATCH. Every field a client can
// store has a bound (issue 23: a 19 MB list of seasons was stored five times
// over); closed sets are checked against their values and lists are
// de-duplicated. Nothing here throws: any JSON value gets a result or
// invalid_argument naming the field. Fuzzed by fuzz/wardrobe_fuzz.cpp.
//
// Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "wardrobe/item.h"

namespace atelier::wardrobe {

inline constexpr std::size_t kMaxNameBytes = 200;  // name, brand
inline constexpr std::size_t kMaxNotesBytes = 2000;
inline constexpr std::size_t kMaxTagBytes = 64;     // one tag's text
inline constexpr std::size_t kMaxSeasonValues = 8;  // read; at most 4 distinct are valid

// A PATCH: text fields set, tags set, tags reset (null: the auto tag shows again).
struct ItemPatch {
  std::optional<std::string> name, brand, notes;
  UserTags set;
  std::vector<std::string> reset;
};

// invalid_argument unless `v` is absent or one of `set` ("'field' must be one of: ...").
Status check_one_of(const std::optional<std::string>& v, const char* field,
                    const std::vector<std::string>& set);

// The plain colour families (vision::color_family's words).
const std::vector<std::string>& color_families();

// A text field of at most `max` bytes of UTF-8 (null: none).
Result<std::optional<std::string>> text_field(const nlohmann::json& v, const char* name,
                                              std::size_t max);

// The owner's tags among `fields` (absent or null: not given). A season may
// be one string ("a,b" splits), a list, or a JSON list held in a string (a
// form field). The values are checked by validate().
Result<UserTags> parse_user_tags(const nlohmann::json& fields);

// invalid_argument when a user tag lies outside its closed set (category,
// pattern, formality, warmth, season, colour family) or a type is not short
// plain text.
Status validate(const UserTags& t);

// The body of PATCH /v1/wardrobe/items/{id}: unknown fields are refused.
Result<ItemPatch> parse_item_patch(const nlohmann::json& body);

}  // namespace atelier::wardrobe
