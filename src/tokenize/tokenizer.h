// Tokenizers for the native transformer encoders (engines/native): BERT
// WordPiece and CLIP byte-level BPE, each reading the files a Hugging Face
// model folder (or the original release) ships, unchanged.
//
// Both produce ids with the model's special tokens, truncated to a maximum
// length; Batch adds padding and attention masks for callers that need a
// rectangular batch (the native encoders themselves run ragged batches).
//
// Thread safety: immutable after construction; encode() from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace atelier::tokenize {

struct Encoding {
  std::vector<std::int32_t> ids;
  bool truncated = false;
};

struct Batch {
  std::vector<std::int32_t> ids;             // [n, length], row-major, padded with pad_id
  std::vector<std::int32_t> attention_mask;  // 1 for real tokens, 0 for padding
  std::size_t n = 0, length = 0;
};

// Pads every encoding to the longest one.
Batch pad(const std::vector<Encoding>& encodings, std::int32_t pad_id);

// Unicode helpers shared by both tokenizers (ICU underneath).
std::u32string utf8_to_u32(const std::string& s);
std::string u32_to_utf8(const std::u32string& s);
std::u32string nfc(const std::u32string& s);
std::u32string lower(const std::u32string& s);  // full Unicode lowercase, like Python's str.lower

}  // namespace atelier::tokenize
