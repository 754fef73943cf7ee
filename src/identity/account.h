// Users and API keys as the accounts capability stores them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/tier.h"

namespace atelier {

enum class Role { user = 0, admin = 1 };

struct User {
  std::int64_t id = 0;
  std::string email;
  std::string password_hash;  // argon2id encoded string
  Tier tier = Tier::authenticated;
  Role role = Role::user;
  std::int64_t created_at = 0;  // unix seconds
  bool disabled = false;
  // Tokens issued before this time (unix seconds) are refused: set when the
  // user is disabled, so sessions end at once rather than at token expiry.
  std::int64_t tokens_valid_after = 0;
};

struct ApiKey {
  std::int64_t id = 0;
  std::optional<std::int64_t> user_id;
  std::string name;
  std::string prefix;  // shown in listings; the secret is never stored
  std::string hash;    // hex SHA-256 of the whole key
  Tier tier = Tier::free;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> revoked_at;
};

}  // namespace atelier
