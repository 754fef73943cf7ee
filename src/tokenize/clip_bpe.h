// CLIP's byte-level BPE tokenizer (openai/CLIP simple_tokenizer, and
// Hugging Face's CLIPTokenizer which reproduces it). Loads either the
// original `bpe_simple_vocab_16e6.txt.gz` (the vocabulary is then built the
// way the original does: 256 byte symbols, the same with "</w>", one symbol
// per merge, then <|startoftext|> and <|endoftext|>) or a Hugging Face folder's
// `vocab.json` + `merges.txt`.
//
// Text is cleaned as the original does (HTML entities unescaped twice,
// whitespace collapsed, lowercased), split with CLIP's pattern (special
// tokens, the English contractions, letter runs, single digits, runs of other
// non-space characters), byte-encoded and merged by rank.
// Not reproduced: ftfy.fix_text's mojibake repair; we apply its NFC step only.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "tokenize/tokenizer.h"

namespace atelier::tokenize {

class ClipBpe {
 public:
  static Result<std::unique_ptr<ClipBpe>> load_simple_vocab(const std::string& bpe_gz);
  static Result<std::unique_ptr<ClipBpe>> load_hf(const std::string& vocab_json,
                                                  const std::string& merges_txt);

  // <|startoftext|> tokens <|endoftext|>, at most context_length ids
  // (the end token is kept when truncating).
  Encoding encode(const std::string& text, std::size_t context_length = 77) const;
  // BPE symbols without special tokens, for tests.
  std::vector<std::string> tokenize(const std::string& text) const;

  std::int32_t sot_id() const { return sot_; }
  std::int32_t eot_id() const { return eot_; }
  std::size_t vocab_size() const { return vocab_.size(); }

  struct Key {};
  explicit ClipBpe(Key) {}

 private:
  Status finish();
  void bpe(const std::string& token, std::vector<std::int32_t>& ids,
           std::vector<std::string>* pieces) const;
  std::vector<std::string> split(const std::string& text) const;

  std::unordered_map<std::string, std::int32_t> vocab_;
  std::unordered_map<std::string, std::int32_t> ranks_;  // "a b" -> merge rank
  std::string byte_encoder_[256];
  std::int32_t sot_ = -1, eot_ = -1;
};

}  // namespace atelier::tokenize
