// Base64 (RFC 4648) on libsodium: the one encoder and decoder of the tree.
// Encoding writes the standard alphabet with padding unless asked otherwise
// (data URLs, hosted engines' inputs, OpenAI's base64 embeddings); decoding
// takes what clients send: standard or URL-safe, padded or not.
//
// Thread safety: free functions without state; needs no initialisation.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace atelier {

enum class Base64Variant {
  standard,           // A-Z a-z 0-9 + /, padded with '='
  standard_unpadded,  // the same, without '='
  url_safe,           // A-Z a-z 0-9 - _, padded with '='
  url_safe_unpadded,  // the same, without '=' (JWTs)
};

std::string base64_encode(std::string_view bytes, Base64Variant variant = Base64Variant::standard);

// The decoded bytes, or nullopt when `text` is not base64. Standard and
// URL-safe alphabets, padded and unpadded, are all accepted (a variant counts
// only when it consumed every character); spaces, tabs and line breaks are
// ignored. An empty text decodes to no bytes.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace atelier
