#include "core/base64.h"

#include <sodium.h>

namespace atelier {

namespace {

int sodium_variant(Base64Variant v) {
  switch (v) {
    case Base64Variant::standard:
      return sodium_base64_VARIANT_ORIGINAL;
    case Base64Variant::standard_unpadded:
      return sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
    case Base64Variant::url_safe:
      return sodium_base64_VARIANT_URLSAFE;
    case Base64Variant::url_safe_unpadded:
      return sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  }
  return sodium_base64_VARIANT_ORIGINAL;
}

}  // namespace

std::string base64_encode(std::string_view bytes, Base64Variant variant) {
  const int v = sodium_variant(variant);
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), v), '\0');
  sodium_bin2base64(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                    bytes.size(), v);
  out.resize(out.size() - 1);  // drop the terminating NUL
  // Unpadded variants may write fewer characters than the length allows for.
  if (const auto nul = out.find('\0'); nul != std::string::npos) out.resize(nul);
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  for (Base64Variant variant : {Base64Variant::standard, Base64Variant::standard_unpadded,
                                Base64Variant::url_safe, Base64Variant::url_safe_unpadded}) {
    std::size_t len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                          text.size(), " \r\n\t", &len, &end, sodium_variant(variant)) == 0 &&
        end == text.data() + text.size()) {
      out.resize(len);
      return out;
    }
  }
  return std::nullopt;
}

}  // namespace atelier
