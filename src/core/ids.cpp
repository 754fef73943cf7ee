#include "core/ids.h"

#include <sodium.h>

namespace atelier {

std::string random_id(std::string_view prefix) {
  unsigned char b[12];
  randombytes_buf(b, sizeof b);
  static const char* hex = "0123456789abcdef";
  std::string s(prefix);
  for (unsigned char c : b) {
    s.push_back(hex[c >> 4]);
    s.push_back(hex[c & 15]);
  }
  return s;
}

bool is_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  const std::size_t n = s.size();
  while (i < n) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len = 0;
    unsigned cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + static_cast<std::size_t>(len) > n) return false;
    for (int k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += static_cast<std::size_t>(len);
  }
  return true;
}

Status check_id(std::string_view id, std::string_view what) {
  if (id.empty() || id.size() > kMaxIdBytes) {
    return Status::invalid_argument(std::string(what) + " has 1 to " + std::to_string(kMaxIdBytes) +
                                    " bytes (got " + std::to_string(id.size()) + ")");
  }
  for (unsigned char c : id) {
    if (c < 0x20 || c == 0x7F) {
      return Status::invalid_argument(std::string(what) +
                                      " must not contain control characters (NUL included)");
    }
  }
  if (!is_utf8(id)) return Status::invalid_argument(std::string(what) + " is not valid UTF-8");
  return Status::ok();
}

std::string cut_utf8(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n)) + "...";
}

}  // namespace atelier
