#include "tokenize/wordpiece.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>

#include <fstream>
#include <nlohmann/json.hpp>

namespace atelier::tokenize {

namespace {

bool is_whitespace(char32_t c) {
  if (c == U' ' || c == U'\t' || c == U'\n' || c == U'\r') return true;
  return u_charType(static_cast<UChar32>(c)) == U_SPACE_SEPARATOR;
}

bool is_control(char32_t c) {
  if (c == U'\t' || c == U'\n' || c == U'\r') return false;
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_CONTROL_CHAR:
    case U_FORMAT_CHAR:
    case U_SURROGATE:
    case U_PRIVATE_USE_CHAR:
    case U_GENERAL_OTHER_TYPES:  // Cn, unassigned
      return true;
    default:
      return false;
  }
}

bool is_punctuation(char32_t c) {
  // The reference counts every non-alphanumeric ASCII character ("^", "$",
  // "`") as punctuation, plus Unicode's P* categories.
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) ||
      (c >= 123 && c <= 126))
    return true;
  switch (u_charType(static_cast<UChar32>(c))) {
    case U_DASH_PUNCTUATION:
    case U_START_PUNCTUATION:
    case U_END_PUNCTUATION:
    case U_CONNECTOR_PUNCTUATION:
    case U_OTHER_PUNCTUATION:
    case U_INITIAL_PUNCTUATION:
    case U_FINAL_PUNCTUATION:
      return true;
    default:
      return false;
  }
}

bool is_cjk(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

std::u32string strip_accents(const std::u32string& s) {
  UErrorCode e = U_ZERO_ERROR;
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(e);
  std::u32string d = s;
  if (U_SUCCESS(e)) {
    auto u =
        nfd->normalize(icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(s.data()),
                                                     static_cast<int32_t>(s.size())),
                       e);
    if (U_SUCCESS(e)) {
      std::string utf8;
      u.toUTF8String(utf8);
      d = utf8_to_u32(utf8);
    }
  }
  std::u32string out;
  for (char32_t c : d)
    if (u_charType(static_cast<UChar32>(c)) != U_NON_SPACING_MARK) out.push_back(c);
  return out;
}

std::vector<std::u32string> split_whitespace(const std::u32string& s) {
  std::vector<std::u32string> out;
  std::u32string cur;
  for (char32_t c : s) {
    if (is_whitespace(c)) {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

}  // namespace

Result<std::unique_ptr<WordPiece>> WordPiece::load(const std::string& vocab_txt,
                                                   WordPieceOptions opt) {
  std::ifstream in(vocab_txt);
  if (!in) return Status::not_found(vocab_txt + ": cannot open WordPiece vocabulary");
  auto wp = std::make_unique<WordPiece>(Key{}, opt);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // The reference keeps the first id of a duplicated line's token; vocab.txt
    // files have none, but ids must still follow line numbers.
    wp->vocab_.emplace(line, static_cast<std::int32_t>(wp->tokens_.size()));
    wp->tokens_.push_back(line);
  }
  auto id = [&](const char* t) {
    auto it = wp->vocab_.find(t);
    return it == wp->vocab_.end() ? -1 : it->second;
  };
  wp->cls_ = id("[CLS]");
  wp->sep_ = id("[SEP]");
  wp->pad_ = id("[PAD]");
  wp->unk_ = id("[UNK]");
  if (wp->cls_ < 0 || wp->sep_ < 0 || wp->pad_ < 0 || wp->unk_ < 0)
    return Status::invalid_argument(vocab_txt + ": vocabulary lacks [CLS], [SEP], [PAD] or [UNK]");
  return wp;
}

Result<WordPieceOptions> WordPiece::options_from_config(const std::string& path,
                                                        WordPieceOptions opt) {
  std::ifstream in(path);
  if (!in) return opt;
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::invalid_argument(path + ": not a JSON object");
  if (j.contains("do_lower_case") && j["do_lower_case"].is_boolean())
    opt.lowercase = j["do_lower_case"].get<bool>();
  if (j.contains("strip_accents") && j["strip_accents"].is_boolean())
    opt.strip_accents = j["strip_accents"].get<bool>() ? 1 : 0;
  if (j.contains("tokenize_chinese_chars") && j["tokenize_chinese_chars"].is_boolean())
    opt.chinese_chars = j["tokenize_chinese_chars"].get<bool>();
  // Tokenizer configs without a limit carry a huge sentinel; keep ours then.
  if (j.contains("model_max_length") && j["model_max_length"].is_number_unsigned()) {
    auto m = j["model_max_length"].get<std::uint64_t>();
    if (m >= 2 && m <= 100000) opt.max_length = m;
  }
  return opt;
}

std::vector<std::u32string> WordPiece::basic(const std::string& text) const {
  std::u32string cleaned;
  for (char32_t c : utf8_to_u32(text)) {
    if (c == 0 || c == 0xFFFD || is_control(c)) continue;
    if (is_whitespace(c)) {
      cleaned.push_back(U' ');
    } else if (opt_.chinese_chars && is_cjk(c)) {
      cleaned.push_back(U' ');
      cleaned.push_back(c);
      cleaned.push_back(U' ');
    } else {
      cleaned.push_back(c);
    }
  }
  const bool strip = opt_.strip_accents < 0 ? opt_.lowercase : opt_.strip_accents == 1;
  std::vector<std::u32string> out;
  for (auto& tok : split_whitespace(nfc(cleaned))) {
    std::u32string t = opt_.lowercase ? lower(tok) : tok;
    if (strip) t = strip_accents(t);
    std::u32string cur;
    for (char32_t c : t) {
      if (is_punctuation(c)) {
        if (!cur.empty()) out.push_back(std::move(cur));
        cur.clear();
        out.push_back(std::u32string(1, c));
      } else {
        cur.push_back(c);
      }
    }
    if (!cur.empty()) out.push_back(std::move(cur));
  }
  return out;
}

void WordPiece::wordpiece(const std::u32string& word, std::vector<std::int32_t>& ids,
                          std::vector<std::string>* pieces) const {
  auto unk = [&] {
    ids.push_back(unk_);
    if (pieces) pieces->push_back("[UNK]");
  };
  if (word.size() > opt_.max_chars_per_word) return unk();
  const std::size_t mark = ids.size();
  const std::size_t piece_mark = pieces ? pieces->size() : 0;
  std::size_t start = 0;
  while (start < word.size()) {
    std::size_t end = word.size();
    std::int32_t found = -1;
    std::string sub;
    while (start < end) {
      sub = (start > 0 ? "##" : "") + u32_to_utf8(word.substr(start, end - start));
      auto it = vocab_.find(sub);
      if (it != vocab_.end()) {
        found = it->second;
        break;
      }
      --end;
    }
    if (found < 0) {
      ids.resize(mark);
      if (pieces) pieces->resize(piece_mark);
      return unk();
    }
    ids.push_back(found);
    if (pieces) pieces->push_back(sub);
    start = end;
  }
}

Encoding WordPiece::encode(const std::string& text, std::size_t max_length) const {
  const std::size_t limit = max_length ? std::min(max_length, opt_.max_length) : opt_.max_length;
  Encoding e;
  e.ids.push_back(cls_);
  for (auto& w : basic(text)) {
    wordpiece(w, e.ids, nullptr);
    if (e.ids.size() >= limit) break;  // the rest would be truncated anyway
  }
  if (e.ids.size() > limit - 1) {
    e.ids.resize(limit - 1);
    e.truncated = true;
  }
  e.ids.push_back(sep_);
  return e;
}

std::vector<std::string> WordPiece::tokenize(const std::string& text) const {
  std::vector<std::int32_t> ids;
  std::vector<std::string> pieces;
  for (auto& w : basic(text)) wordpiece(w, ids, &pieces);
  return pieces;
}

}  // namespace atelier::tokenize
