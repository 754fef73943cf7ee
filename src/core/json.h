// The one way untrusted bytes become JSON. nlohmann's parser is iterative,
// but its serializer, comparisons and most code that walks a document recurse,
// so a document nested 100,000 deep parses and then overflows the stack the
// first time anything touches it. parse() refuses such documents, and
// oversized ones, with one linear scan before the parser runs.
//
// Thread safety: stateless; call from any thread.
#pragma once

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstddef>
#include <optional>
#include <string_view>

#include "core/status.h"

namespace atelier::json {

struct Limits {
  std::size_t max_bytes = 64u << 20;   // the whole document
  int max_depth = 64;                  // nested arrays and objects
  std::size_t max_string = 16u << 20;  // one string (escaped bytes), keys included
};

// invalid_argument naming the limit that was passed ("nested deeper than 64
// levels", "a string longer than ..."), or "is not valid JSON" with the byte
// offset; payload_too_large when the document exceeds max_bytes. `what` names
// the input in messages ("request body", "line 3").
Result<nlohmann::json> parse(std::string_view text, const Limits& limits = {},
                             std::string_view what = "JSON document");

// The deepest nesting of a parsed value (a scalar is 0, [] is 1), without
// recursion.
int depth(const nlohmann::json& v);

// Optional members of a stored encoding: written when set, read when present
// and not null (an absent member leaves `v` unset).
template <class T>
void put_optional(nlohmann::json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}
template <class T>
void get_optional(const nlohmann::json& j, const char* key, std::optional<T>& v) {
  if (auto it = j.find(key); it != j.end() && !it->is_null()) v = it->template get<T>();
}

// Scores, shares and coordinates on the wire: three decimals are enough and
// keep answers readable.
inline double round3(double v) {
  return std::round(v * 1000.0) / 1000.0;
}

}  // namespace atelier::json
