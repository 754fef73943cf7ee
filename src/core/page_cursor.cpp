#include "core/page_cursor.h"

#include <sodium.h>

#include <charconv>

#include "core/base64.h"

namespace atelier {
namespace {

constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kMaxCursor = 1024;

Status malformed() {
  return Status::invalid_argument("malformed cursor");
}

bool has_separator(std::string_view s) {
  return s.find('|') != std::string_view::npos;
}

}  // namespace

PageCursors::PageCursors(std::string_view secret) : key_(crypto_auth_hmacsha256_KEYBYTES, '\0') {
  // key = HMAC-SHA-256(secret, "atelier page cursor v1"): a key of its own.
  static constexpr std::string_view kPurpose = "atelier page cursor v1";
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(secret.data()),
                              secret.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(kPurpose.data()),
                                kPurpose.size());
  crypto_auth_hmacsha256_final(&st, reinterpret_cast<unsigned char*>(key_.data()));
}

std::string PageCursors::mac(std::string_view payload) const {
  unsigned char out[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256(out, reinterpret_cast<const unsigned char*>(payload.data()),
                         payload.size(), reinterpret_cast<const unsigned char*>(key_.data()));
  return std::string(reinterpret_cast<const char*>(out), kTagBytes);
}

std::string PageCursors::seal(std::string_view list, std::string_view owner,
                              const PagePosition& at) const {
  std::string payload = "v1|";
  payload += list;
  payload += '|';
  payload += owner;
  payload += '|';
  payload += std::to_string(at.ts);
  payload += '|';
  payload += at.id;
  return base64_encode(payload, Base64Variant::url_safe_unpadded) + "." +
         base64_encode(mac(payload), Base64Variant::url_safe_unpadded);
}

Result<PagePosition> PageCursors::open(std::string_view list, std::string_view owner,
                                       std::string_view cursor) const {
  if (cursor.empty() || cursor.size() > kMaxCursor || has_separator(list) || has_separator(owner))
    return malformed();
  const auto dot = cursor.find('.');
  if (dot == std::string_view::npos) return malformed();
  const auto payload = base64_decode(cursor.substr(0, dot));
  const auto tag = base64_decode(cursor.substr(dot + 1));
  if (!payload || !tag || tag->size() != kTagBytes) return malformed();
  // Only the exact text seal() wrote (no padding, whitespace or other alphabet).
  if (base64_encode(*payload, Base64Variant::url_safe_unpadded) != cursor.substr(0, dot) ||
      base64_encode(*tag, Base64Variant::url_safe_unpadded) != cursor.substr(dot + 1))
    return malformed();
  if (sodium_memcmp(mac(*payload).data(), tag->data(), kTagBytes) != 0) return malformed();
  // Signed by this deployment: now check it was issued for this list and caller.
  std::string_view p = *payload;
  const std::string prefix = "v1|" + std::string(list) + "|" + std::string(owner) + "|";
  if (p.substr(0, prefix.size()) != prefix) return malformed();
  p.remove_prefix(prefix.size());
  const auto bar = p.find('|');
  if (bar == std::string_view::npos) return malformed();
  PagePosition at;
  const auto [end, ec] = std::from_chars(p.data(), p.data() + bar, at.ts);
  if (ec != std::errc() || end != p.data() + bar) return malformed();
  at.id = std::string(p.substr(bar + 1));
  return at;
}

}  // namespace atelier
