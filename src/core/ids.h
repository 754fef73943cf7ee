// One rule for every caller-chosen id (documents, image items, and the ids
// later capabilities accept): 1 to kMaxIdBytes bytes of valid UTF-8 with no
// control characters. A NUL in particular would let "keep\0other" stand for
// "keep" wherever a C string is involved (drivers, file names, logs).
//
// Thread safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/status.h"

namespace atelier {

inline constexpr std::size_t kMaxIdBytes = 256;

// invalid_argument naming `what` ("document 3: 'id'") and the rule broken.
Status check_id(std::string_view id, std::string_view what);

// A fresh server-made id: `prefix` and 24 random hex digits (96 bits).
std::string random_id(std::string_view prefix);

// Whether `s` is well-formed UTF-8 (no overlongs, surrogates or code points
// above U+10FFFF).
bool is_utf8(std::string_view s) noexcept;

// At most `max` bytes of `s`, cut before a UTF-8 continuation byte and
// marked with "..." when cut: text from a request echoed in an error is
// bounded, and stays valid for JSON.
std::string cut_utf8(std::string_view s, std::size_t max);

}  // namespace atelier
