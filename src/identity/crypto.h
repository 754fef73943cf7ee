// Small wrappers over libsodium: password hashing (argon2id), random
// tokens and constant-time comparison. sodium_init() must have run once
// (init_crypto) before any of these are used.
#pragma once

#include <string>
#include <string_view>

#include "core/sha256.h"  // sha256_hex, used with these
#include "core/status.h"

namespace atelier {

Status init_crypto();

struct PasswordParams {
  unsigned long long ops = 2;
  std::size_t mem_bytes = 64u << 20;
};

// Encoded argon2id string (salt and parameters inside). CPU- and
// memory-heavy by design: run it on the worker pool, never a network thread.
Result<std::string> hash_password(std::string_view password, const PasswordParams& p);
bool verify_password(const std::string& encoded, std::string_view password);

// n random bytes, base62-encoded.
std::string random_token(std::size_t n_bytes);
std::string random_hex(std::size_t n_bytes);
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace atelier
