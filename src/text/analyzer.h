// Text analysis: Unicode-correct tokens and sentences (ICU break iterators),
// normalised forms (NFKC + case folding), Snowball stems (libstemmer, every
// language it ships), stopwords (stopwords-iso lists) and readability figures.
//
// Offsets are Unicode code point indices into the input ([start, end)).
// Readability: Flesch reading ease and Flesch-Kincaid grade use an English
// syllable heuristic (vowel groups with the usual silent-ending rules); for
// other languages they are reported but only indicative.
//
// Thread safety: analyze() may be called concurrently. ICU break iterators and
// Snowball stemmers are not thread-safe, so each thread keeps its own.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace atelier::text {

enum class TokenType { word, number, ideographic, symbol };
std::string_view token_type_name(TokenType t) noexcept;

struct Token {
  std::string text;
  std::string normalized;  // NFKC case-folded
  std::string stem;        // Snowball stem of `normalized` (words only)
  TokenType type = TokenType::word;
  int start = 0;
  int end = 0;
  int byte_start = 0;  // [byte_start, byte_end) in the UTF-8 input
  int byte_end = 0;
  bool stopword = false;
};

struct Sentence {
  std::string text;
  int start = 0;
  int end = 0;
  int words = 0;
};

struct Complexity {
  int characters = 0;  // code points
  int words = 0;       // letter words (numbers and symbols excluded)
  int sentences = 0;   // sentences with at least one word
  int syllables = 0;
  int unique_words = 0;
  int stopwords = 0;
  double mean_sentence_length = 0;  // words per sentence
  double mean_word_length = 0;      // code points per word
  double lexical_diversity = 0;     // unique normalised words / words
  double flesch_reading_ease = 0;
  double flesch_kincaid_grade = 0;
};

struct Analysis {
  std::string language;  // Snowball name, e.g. "english"
  std::vector<Token> tokens;
  std::vector<Sentence> sentences;
  Complexity complexity;
};

struct LanguageInfo {
  std::string name;  // Snowball name
  std::string iso;   // ISO 639-1 code, empty when none
  bool stopwords = false;
};

// English syllable estimate of one word (lowercase ASCII letters counted).
int count_syllables(std::string_view word);

// UTF-8 validity; number of code points when valid.
bool valid_utf8(std::string_view s, int* code_points);

class Analyzer {
 public:
  // `stopwords_json`: path of stopwords-iso.json (ISO code -> word list), or
  // empty to run without stopwords.
  static Result<Analyzer> create(const std::string& stopwords_json);

  // `language`: a Snowball name ("english") or ISO code ("en").
  // invalid_argument for invalid UTF-8 or an unknown language.
  // `with_sentences` false skips sentence splitting (and the sentence count of
  // the complexity figures) for callers that need tokens only.
  Result<Analysis> analyze(std::string_view utf8, const std::string& language,
                           bool with_sentences = true) const;

  const std::vector<LanguageInfo>& languages() const { return languages_; }
  bool has_stopwords() const { return !stopwords_.empty(); }

 private:
  Analyzer() = default;
  const LanguageInfo* find_language(const std::string& name_or_iso) const;

  std::vector<LanguageInfo> languages_;
  std::map<std::string, std::set<std::string>> stopwords_;  // by ISO code
};

}  // namespace atelier::text
