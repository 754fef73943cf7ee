#include "identity/crypto.h"

#include <sodium.h>

#include <vector>

namespace atelier {

Status init_crypto() {
  if (sodium_init() < 0) return Status::internal("libsodium failed to initialise");
  return Status::ok();
}

Result<std::string> hash_password(std::string_view password, const PasswordParams& p) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), p.ops, p.mem_bytes,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return Status::unavailable("out of memory while hashing a password");
  }
  return std::string(out);
}

bool verify_password(const std::string& encoded, std::string_view password) {
  if (encoded.size() >= crypto_pwhash_STRBYTES) return false;
  return crypto_pwhash_str_verify(encoded.c_str(), password.data(), password.size()) == 0;
}

std::string random_token(std::size_t n_bytes) {
  static constexpr char kAlphabet[] =
      "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
  std::string out;
  out.reserve(n_bytes * 2);
  // Rejection sampling keeps every symbol equally likely.
  while (out.size() < n_bytes * 4 / 3 + 1) {
    unsigned char b = 0;
    randombytes_buf(&b, 1);
    if (b < 248) out.push_back(kAlphabet[b % 62]);
  }
  return out;
}

std::string random_hex(std::size_t n_bytes) {
  std::vector<unsigned char> buf(n_bytes);
  randombytes_buf(buf.data(), buf.size());
  std::string hex(n_bytes * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), buf.data(), buf.size());
  hex.pop_back();
  return hex;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace atelier
