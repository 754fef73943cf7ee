#include "text/analyzer.h"

#include <libstemmer.h>
#include <unicode/brkiter.h>
#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf16.h>
#include <unicode/utf8.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <unordered_map>

namespace atelier::text {
namespace {

struct StemmerFree {
  void operator()(sb_stemmer* s) const noexcept { sb_stemmer_delete(s); }
};
using StemmerPtr = std::unique_ptr<sb_stemmer, StemmerFree>;

// Snowball language -> ISO 639-1 (for stopword lists and ICU locales).
const std::map<std::string, std::string>& iso_codes() {
  static const std::map<std::string, std::string> m = {
      {"arabic", "ar"},     {"armenian", "hy"},   {"basque", "eu"},    {"catalan", "ca"},
      {"danish", "da"},     {"dutch", "nl"},      {"english", "en"},   {"finnish", "fi"},
      {"french", "fr"},     {"german", "de"},     {"greek", "el"},     {"hindi", "hi"},
      {"hungarian", "hu"},  {"indonesian", "id"}, {"irish", "ga"},     {"italian", "it"},
      {"lithuanian", "lt"}, {"nepali", "ne"},     {"norwegian", "no"}, {"portuguese", "pt"},
      {"romanian", "ro"},   {"russian", "ru"},    {"serbian", "sr"},   {"spanish", "es"},
      {"swedish", "sv"},    {"tamil", "ta"},      {"turkish", "tr"},   {"yiddish", "yi"}};
  return m;
}

// Per-thread ICU iterators and Snowball stemmers (neither is thread-safe).
struct ThreadTools {
  std::unordered_map<std::string, std::unique_ptr<icu::BreakIterator>> words, sentences;
  std::unordered_map<std::string, StemmerPtr> stemmers;

  icu::BreakIterator* iterator(bool sentence, const std::string& iso) {
    auto& cache = sentence ? sentences : words;
    auto it = cache.find(iso);
    if (it != cache.end()) return it->second.get();
    UErrorCode st = U_ZERO_ERROR;
    icu::Locale loc(iso.empty() ? "und" : iso.c_str());
    std::unique_ptr<icu::BreakIterator> bi(sentence
                                               ? icu::BreakIterator::createSentenceInstance(loc, st)
                                               : icu::BreakIterator::createWordInstance(loc, st));
    if (U_FAILURE(st)) return nullptr;
    return cache.emplace(iso, std::move(bi)).first->second.get();
  }
  sb_stemmer* stemmer(const std::string& name) {
    auto it = stemmers.find(name);
    if (it != stemmers.end()) return it->second.get();
    StemmerPtr s(sb_stemmer_new(name.c_str(), "UTF_8"));
    return stemmers.emplace(name, std::move(s)).first->second.get();
  }
};
ThreadTools& tools() {
  thread_local ThreadTools t;
  return t;
}

std::string to_utf8(const icu::UnicodeString& u) {
  std::string out;
  u.toUTF8String(out);
  return out;
}

bool is_blank_or_punct(const icu::UnicodeString& s) {
  for (int32_t i = 0; i < s.length();) {
    UChar32 c = s.char32At(i);
    if (!u_isUWhiteSpace(c) && !u_ispunct(c)) return false;
    i += U16_LENGTH(c);
  }
  return true;
}

}  // namespace

std::string_view token_type_name(TokenType t) noexcept {
  switch (t) {
    case TokenType::word:
      return "word";
    case TokenType::number:
      return "number";
    case TokenType::ideographic:
      return "ideographic";
    case TokenType::symbol:
      return "symbol";
  }
  return "word";
}

bool valid_utf8(std::string_view s, int* code_points) {
  int n = 0;
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len;
    std::uint32_t cp;
    if (c < 0x80) {
      len = 1;
      cp = c;
    } else if ((c >> 5) == 0x6) {
      len = 2;
      cp = c & 0x1f;
    } else if ((c >> 4) == 0xe) {
      len = 3;
      cp = c & 0x0f;
    } else if ((c >> 3) == 0x1e) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + len > s.size()) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc >> 6) != 0x2) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values beyond U+10FFFF are invalid.
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
      return false;
    }
    i += len;
    ++n;
  }
  if (code_points) *code_points = n;
  return true;
}

int count_syllables(std::string_view word) {
  std::string w;
  for (char c : word) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c >= 'a' && c <= 'z') w.push_back(c);
  }
  if (w.empty()) return 1;
  if (w.size() <= 3) return 1;
  auto vowel = [](char c) {
    return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y';
  };
  auto ends = [&](std::string_view suf) {
    return w.size() >= suf.size() && std::string_view(w).substr(w.size() - suf.size()) == suf;
  };
  // Silent endings: "-es" and "-e" after a consonant other than l, and "-ed".
  const std::size_t n = w.size();
  if (ends("ed")) {
    w.resize(n - 2);
  } else if (ends("es") && n >= 3 && !vowel(w[n - 3]) && w[n - 3] != 'l') {
    w.resize(n - 2);
  } else if (ends("e") && n >= 2 && !vowel(w[n - 2]) && w[n - 2] != 'l') {
    w.resize(n - 1);
  }
  if (!w.empty() && w[0] == 'y') w.erase(0, 1);
  // Groups of one or two vowels each count once.
  int count = 0;
  for (std::size_t i = 0; i < w.size();) {
    if (vowel(w[i])) {
      ++count;
      i += (i + 1 < w.size() && vowel(w[i + 1])) ? 2 : 1;
    } else {
      ++i;
    }
  }
  return count < 1 ? 1 : count;
}

Result<Analyzer> Analyzer::create(const std::string& stopwords_json) {
  Analyzer a;
  for (const char** p = sb_stemmer_list(); p && *p; ++p) {
    LanguageInfo li;
    li.name = *p;
    auto it = iso_codes().find(li.name);
    if (it != iso_codes().end()) li.iso = it->second;
    a.languages_.push_back(li);
  }
  if (!stopwords_json.empty()) {
    std::ifstream in(stopwords_json);
    if (!in) return Status::unavailable("cannot read stopwords file " + stopwords_json);
    auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      return Status::invalid_argument(stopwords_json + " is not a JSON object");
    const icu::Normalizer2* fold = nullptr;
    UErrorCode st = U_ZERO_ERROR;
    fold = icu::Normalizer2::getNFKCCasefoldInstance(st);
    for (auto& [iso, words] : j.items()) {
      if (!words.is_array()) continue;
      auto& set = a.stopwords_[iso];
      for (auto& w : words) {
        if (!w.is_string()) continue;
        UErrorCode e = U_ZERO_ERROR;
        auto norm = fold->normalize(icu::UnicodeString::fromUTF8(w.get<std::string>()), e);
        if (U_SUCCESS(e)) set.insert(to_utf8(norm));
      }
    }
    for (auto& li : a.languages_) li.stopwords = !li.iso.empty() && a.stopwords_.count(li.iso) > 0;
  }
  return a;
}

const LanguageInfo* Analyzer::find_language(const std::string& key) const {
  for (const auto& li : languages_) {
    if (li.name == key || (!li.iso.empty() && li.iso == key)) return &li;
  }
  return nullptr;
}

namespace {

// UTF-16 index -> code point index and byte index, for offsets callers can
// use directly.
struct Offsets {
  std::vector<int> cp_at;
  std::vector<int> byte_at;
};

Offsets offsets_of(const icu::UnicodeString& u) {
  Offsets o;
  o.cp_at.assign(static_cast<std::size_t>(u.length()) + 1, 0);
  o.byte_at.assign(static_cast<std::size_t>(u.length()) + 1, 0);
  for (int32_t i = 0, cp = 0, byte = 0; i < u.length();) {
    const UChar32 ch = u.char32At(i);
    const int32_t len = U16_LENGTH(ch);
    for (int32_t k = 0; k < len; ++k) {
      const std::size_t at = static_cast<std::size_t>(i) + static_cast<std::size_t>(k);
      o.cp_at[at] = cp;
      o.byte_at[at] = byte;
    }
    i += len;
    ++cp;
    byte += U8_LENGTH(ch);
    o.cp_at[static_cast<std::size_t>(i)] = cp;
    o.byte_at[static_cast<std::size_t>(i)] = byte;
  }
  return o;
}

// The token's type from the word iterator's rule status; none for white
// space and punctuation, which are not tokens.
std::optional<TokenType> token_type(int32_t status, const icu::UnicodeString& piece) {
  if (status >= UBRK_WORD_IDEO && status < UBRK_WORD_IDEO_LIMIT) return TokenType::ideographic;
  if (status >= UBRK_WORD_KANA && status < UBRK_WORD_KANA_LIMIT) return TokenType::ideographic;
  if (status >= UBRK_WORD_LETTER && status < UBRK_WORD_LETTER_LIMIT) return TokenType::word;
  if (status >= UBRK_WORD_NUMBER && status < UBRK_WORD_NUMBER_LIMIT) return TokenType::number;
  if (is_blank_or_punct(piece)) return std::nullopt;
  return TokenType::symbol;  // emoji and other symbols
}

std::string stem_of(sb_stemmer* stemmer, const std::string& normalized) {
  const sb_symbol* s =
      sb_stemmer_stem(stemmer, reinterpret_cast<const sb_symbol*>(normalized.data()),
                      static_cast<int>(normalized.size()));
  if (!s) return normalized;
  return {reinterpret_cast<const char*>(s), static_cast<std::size_t>(sb_stemmer_length(stemmer))};
}

// The sentences the iterator finds, trimmed of surrounding white space, each
// with the number of words of `a.tokens` it holds.
void add_sentences(icu::BreakIterator& sentences, const icu::UnicodeString& u, const Offsets& at,
                   Analysis& a) {
  sentences.setText(u);
  std::size_t next_token = 0;
  for (int32_t start = sentences.first(), end = sentences.next(); end != icu::BreakIterator::DONE;
       start = end, end = sentences.next()) {
    int32_t s = start, e = end;
    while (s < e && u_isUWhiteSpace(u.char32At(s))) s += U16_LENGTH(u.char32At(s));
    while (e > s && u_isUWhiteSpace(u.char32At(e - 1))) --e;
    if (s >= e) continue;
    Sentence sen;
    sen.text = to_utf8(u.tempSubStringBetween(s, e));
    sen.start = at.cp_at[static_cast<std::size_t>(s)];
    sen.end = at.cp_at[static_cast<std::size_t>(e)];
    while (next_token < a.tokens.size() && a.tokens[next_token].start < sen.end) {
      const auto type = a.tokens[next_token].type;
      if (a.tokens[next_token].start >= sen.start &&
          (type == TokenType::word || type == TokenType::ideographic)) {
        ++sen.words;
      }
      ++next_token;
    }
    if (sen.words > 0) ++a.complexity.sentences;
    a.sentences.push_back(std::move(sen));
  }
}

// The readability figures from the counts.
void score_complexity(Complexity& cx, std::size_t unique_words, int word_chars) {
  cx.unique_words = static_cast<int>(unique_words);
  if (cx.words == 0) return;
  const double sentences_n = cx.sentences > 0 ? cx.sentences : 1;
  const double wps = cx.words / sentences_n;
  const double spw = static_cast<double>(cx.syllables) / cx.words;
  cx.mean_sentence_length = wps;
  cx.mean_word_length = static_cast<double>(word_chars) / cx.words;
  cx.lexical_diversity = static_cast<double>(cx.unique_words) / cx.words;
  cx.flesch_reading_ease = 206.835 - 1.015 * wps - 84.6 * spw;
  cx.flesch_kincaid_grade = 0.39 * wps + 11.8 * spw - 15.59;
}

}  // namespace

Result<Analysis> Analyzer::analyze(std::string_view utf8, const std::string& language,
                                   bool with_sentences) const {
  int code_points = 0;
  if (!valid_utf8(utf8, &code_points)) return Status::invalid_argument("text is not valid UTF-8");
  const LanguageInfo* lang = find_language(language);
  if (!lang) {
    return Status::invalid_argument("unknown language '" + language +
                                    "'; GET /v1/text/languages lists the supported ones");
  }
  UErrorCode st = U_ZERO_ERROR;
  const icu::Normalizer2* fold = icu::Normalizer2::getNFKCCasefoldInstance(st);
  if (U_FAILURE(st)) return Status::internal("ICU normalizer unavailable");
  auto& t = tools();
  icu::BreakIterator* words = t.iterator(false, lang->iso);
  icu::BreakIterator* sentences = t.iterator(true, lang->iso);
  sb_stemmer* stemmer = t.stemmer(lang->name);
  if (!words || !sentences || !stemmer)
    return Status::internal("cannot create ICU iterators or the stemmer");

  const icu::UnicodeString u = icu::UnicodeString::fromUTF8(
      icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
  const Offsets at = offsets_of(u);
  const std::set<std::string>* stop = nullptr;
  if (auto it = stopwords_.find(lang->iso); it != stopwords_.end()) stop = &it->second;

  Analysis a;
  a.language = lang->name;
  Complexity& cx = a.complexity;
  cx.characters = code_points;
  std::set<std::string> unique;
  int word_chars = 0;
  words->setText(u);
  for (int32_t start = words->first(), end = words->next(); end != icu::BreakIterator::DONE;
       start = end, end = words->next()) {
    const icu::UnicodeString piece = u.tempSubStringBetween(start, end);
    const auto type = token_type(words->getRuleStatus(), piece);
    if (!type) continue;
    Token tok;
    tok.type = *type;
    tok.text = to_utf8(piece);
    UErrorCode e = U_ZERO_ERROR;
    tok.normalized = to_utf8(fold->normalize(piece, e));
    if (U_FAILURE(e)) tok.normalized = tok.text;
    tok.start = at.cp_at[static_cast<std::size_t>(start)];
    tok.end = at.cp_at[static_cast<std::size_t>(end)];
    tok.byte_start = at.byte_at[static_cast<std::size_t>(start)];
    tok.byte_end = at.byte_at[static_cast<std::size_t>(end)];
    tok.stem = tok.type == TokenType::word ? stem_of(stemmer, tok.normalized) : tok.normalized;
    tok.stopword = stop && stop->count(tok.normalized) > 0;
    if (tok.type == TokenType::word || tok.type == TokenType::ideographic) {
      ++cx.words;
      unique.insert(tok.normalized);
      word_chars += tok.end - tok.start;
      if (tok.type == TokenType::word) cx.syllables += count_syllables(tok.normalized);
      if (tok.stopword) ++cx.stopwords;
    }
    a.tokens.push_back(std::move(tok));
  }
  if (with_sentences) add_sentences(*sentences, u, at, a);
  score_complexity(cx, unique.size(), word_chars);
  return a;
}

}  // namespace atelier::text
