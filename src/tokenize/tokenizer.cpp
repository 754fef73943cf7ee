#include "tokenize/tokenizer.h"

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/unistr.h>

#include <algorithm>

namespace atelier::tokenize {

Batch pad(const std::vector<Encoding>& encodings, std::int32_t pad_id) {
  Batch b;
  b.n = encodings.size();
  for (auto& e : encodings) b.length = std::max(b.length, e.ids.size());
  b.ids.assign(b.n * b.length, pad_id);
  b.attention_mask.assign(b.n * b.length, 0);
  for (std::size_t i = 0; i < b.n; ++i)
    for (std::size_t j = 0; j < encodings[i].ids.size(); ++j) {
      b.ids[i * b.length + j] = encodings[i].ids[j];
      b.attention_mask[i * b.length + j] = 1;
    }
  return b;
}

namespace {
icu::UnicodeString to_icu(const std::u32string& s) {
  return icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(s.data()),
                                       static_cast<int32_t>(s.size()));
}
std::u32string from_icu(const icu::UnicodeString& u) {
  std::u32string out(static_cast<std::size_t>(u.countChar32()), U'\0');
  UErrorCode e = U_ZERO_ERROR;
  u.toUTF32(reinterpret_cast<UChar32*>(out.data()), static_cast<int32_t>(out.size()), e);
  return out;
}
}  // namespace

std::u32string utf8_to_u32(const std::string& s) {
  // ICU replaces invalid UTF-8 with U+FFFD, which both tokenizers then treat
  // as the reference implementations treat undecodable input.
  return from_icu(icu::UnicodeString::fromUTF8(s));
}

std::string u32_to_utf8(const std::u32string& s) {
  std::string out;
  to_icu(s).toUTF8String(out);
  return out;
}

std::u32string nfc(const std::u32string& s) {
  UErrorCode e = U_ZERO_ERROR;
  const icu::Normalizer2* n = icu::Normalizer2::getNFCInstance(e);
  if (U_FAILURE(e)) return s;
  auto out = n->normalize(to_icu(s), e);
  return U_FAILURE(e) ? s : from_icu(out);
}

std::u32string lower(const std::u32string& s) {
  auto u = to_icu(s);
  u.toLower(icu::Locale::getRoot());
  return from_icu(u);
}

}  // namespace atelier::tokenize
