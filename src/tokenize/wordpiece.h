// BERT's tokenizer as Hugging Face's BertTokenizer defines it: a basic
// tokenizer (drop control characters, map whitespace to spaces, put spaces
// around CJK ideographs, NFC, split on whitespace, optionally lowercase and
// strip accents (NFD, drop Mn), split off every punctuation character) and
// then greedy longest-match-first WordPiece with the "##" continuation prefix
// over vocab.txt. Words longer than 100 code points, or with a piece missing
// from the vocabulary, become [UNK].
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "tokenize/tokenizer.h"

namespace atelier::tokenize {

struct WordPieceOptions {
  bool lowercase = true;      // do_lower_case
  int strip_accents = -1;     // -1: follow lowercase (the reference's None), 0 no, 1 yes
  bool chinese_chars = true;  // tokenize_chinese_chars
  std::size_t max_length = 512;
  std::size_t max_chars_per_word = 100;
};

class WordPiece {
 public:
  static Result<std::unique_ptr<WordPiece>> load(const std::string& vocab_txt,
                                                 WordPieceOptions opt);
  // Reads do_lower_case, strip_accents, tokenize_chinese_chars and
  // model_max_length from a tokenizer_config.json when the file exists.
  static Result<WordPieceOptions> options_from_config(const std::string& tokenizer_config_json,
                                                      WordPieceOptions base);

  // [CLS] pieces [SEP], truncated to max_length (or the given limit if lower).
  Encoding encode(const std::string& text, std::size_t max_length = 0) const;
  // The basic tokenizer + WordPiece, without special tokens: for tests and the API.
  std::vector<std::string> tokenize(const std::string& text) const;

  std::int32_t cls_id() const { return cls_; }
  std::int32_t sep_id() const { return sep_; }
  std::int32_t pad_id() const { return pad_; }
  std::int32_t unk_id() const { return unk_; }
  std::size_t vocab_size() const { return vocab_.size(); }
  const WordPieceOptions& options() const { return opt_; }

  struct Key {};
  WordPiece(Key, WordPieceOptions opt) : opt_(opt) {}

 private:
  std::vector<std::u32string> basic(const std::string& text) const;
  void wordpiece(const std::u32string& word, std::vector<std::int32_t>& ids,
                 std::vector<std::string>* pieces) const;

  WordPieceOptions opt_;
  std::unordered_map<std::string, std::int32_t> vocab_;
  std::vector<std::string> tokens_;
  std::int32_t cls_ = -1, sep_ = -1, pad_ = -1, unk_ = -1;
};

}  // namespace atelier::tokenize
