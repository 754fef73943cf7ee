// HS256 session tokens (libjwt). Verification accepts only HS256 signed with
// our key, issued by our issuer, and not expired: "alg":"none", other
// algorithms, forged signatures and stale tokens are all `unauthenticated`.
//
// Thread safety: const methods are safe from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "config/config.h"
#include "core/status.h"
#include "identity/account.h"

namespace atelier {

struct TokenClaims {
  std::int64_t user_id = 0;
  Tier tier = Tier::authenticated;
  Role role = Role::user;
  std::int64_t issued_at = 0;
  std::int64_t expires_at = 0;
};

class JwtCodec {
 public:
  JwtCodec(std::string secret, std::string issuer, std::int64_t ttl_s)
      : secret_(std::move(secret)), issuer_(std::move(issuer)), ttl_s_(ttl_s) {}

  Result<std::string> issue(const TokenClaims& c, std::int64_t now_s) const;
  Result<TokenClaims> verify(const std::string& token, std::int64_t now_s) const;
  std::int64_t ttl_seconds() const { return ttl_s_; }

 private:
  std::string secret_;
  std::string issuer_;
  std::int64_t ttl_s_;
};

}  // namespace atelier
