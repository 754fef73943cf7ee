#include "identity/jwt.h"

#include <jwt.h>

#include <cerrno>
#include <cstdlib>
#include <memory>

namespace atelier {
namespace {

struct JwtFree {
  void operator()(jwt_t* j) const noexcept { jwt_free(j); }
};
using JwtHandle = std::unique_ptr<jwt_t, JwtFree>;
struct CFree {
  void operator()(char* p) const noexcept { std::free(p); }
};

}  // namespace

Result<std::string> JwtCodec::issue(const TokenClaims& c, std::int64_t now_s) const {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return Status::internal("jwt_new failed");
  JwtHandle j(raw);
  const std::string sub = std::to_string(c.user_id);
  const std::string tier(tier_name(c.tier));
  int rc = 0;
  rc |= jwt_add_grant(j.get(), "sub", sub.c_str());
  rc |= jwt_add_grant(j.get(), "iss", issuer_.c_str());
  rc |= jwt_add_grant(j.get(), "tier", tier.c_str());
  rc |= jwt_add_grant(j.get(), "role", c.role == Role::admin ? "admin" : "user");
  rc |= jwt_add_grant_int(j.get(), "iat", static_cast<long>(now_s));
  rc |= jwt_add_grant_int(j.get(), "exp", static_cast<long>(now_s + ttl_s_));
  rc |= jwt_set_alg(j.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(secret_.data()),
                    static_cast<int>(secret_.size()));
  if (rc != 0) return Status::internal("cannot build token");
  std::unique_ptr<char, CFree> out(jwt_encode_str(j.get()));
  if (!out) return Status::internal("cannot encode token");
  return std::string(out.get());
}

Result<TokenClaims> JwtCodec::verify(const std::string& token, std::int64_t now_s) const {
  // Bound the work an attacker can ask of the decoder.
  if (token.empty() || token.size() > 4096) return Status::unauthenticated("malformed token");
  jwt_t* raw = nullptr;
  int rc = jwt_decode(&raw, token.c_str(), reinterpret_cast<const unsigned char*>(secret_.data()),
                      static_cast<int>(secret_.size()));
  JwtHandle j(raw);
  if (rc != 0 || !j) return Status::unauthenticated("invalid token signature or format");
  // libjwt decodes unsigned tokens when asked to; we never accept them.
  if (jwt_get_alg(j.get()) != JWT_ALG_HS256) {
    return Status::unauthenticated("token algorithm not accepted");
  }
  const char* iss = jwt_get_grant(j.get(), "iss");
  if (!iss || issuer_ != iss) return Status::unauthenticated("token issuer not accepted");
  errno = 0;
  long exp = jwt_get_grant_int(j.get(), "exp");
  if (errno != 0 || exp <= 0) return Status::unauthenticated("token has no expiry");
  if (now_s >= exp) return Status::unauthenticated("token expired");
  TokenClaims c;
  c.expires_at = exp;
  errno = 0;
  c.issued_at = jwt_get_grant_int(j.get(), "iat");
  if (errno != 0 || c.issued_at <= 0) return Status::unauthenticated("token has no issue time");
  // RFC 7519 4.1.5: not to be accepted before nbf (when present).
  errno = 0;
  const long nbf = jwt_get_grant_int(j.get(), "nbf");
  if (errno == 0 && now_s < nbf) return Status::unauthenticated("token not valid yet (nbf)");
  const char* sub = jwt_get_grant(j.get(), "sub");
  if (!sub) return Status::unauthenticated("token has no subject");
  char* end = nullptr;
  c.user_id = std::strtoll(sub, &end, 10);
  if (!end || *end != '\0' || c.user_id <= 0)
    return Status::unauthenticated("token subject invalid");
  const char* tier = jwt_get_grant(j.get(), "tier");
  if (!tier || !parse_tier(tier, &c.tier)) return Status::unauthenticated("token tier invalid");
  const char* role = jwt_get_grant(j.get(), "role");
  c.role = (role && std::string_view(role) == "admin") ? Role::admin : Role::user;
  return c;
}

}  // namespace atelier
