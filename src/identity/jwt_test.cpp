#include "identity/jwt.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include "core/base64.h"
#include "identity/crypto.h"

namespace atelier {
namespace {

const std::string kSecret(40, 'x');
constexpr std::int64_t kNow = 1'800'000'000;

std::string b64url(std::string_view s) {
  return base64_encode(s, Base64Variant::url_safe_unpadded);
}

std::string hs256(const std::string& key, const std::string& header, const std::string& payload) {
  std::string signing = b64url(header) + "." + b64url(payload);
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state st;
  crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(key.data()), key.size());
  crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(signing.data()),
                                signing.size());
  crypto_auth_hmacsha256_final(&st, mac);
  return signing + "." + b64url(std::string_view(reinterpret_cast<char*>(mac), sizeof mac));
}

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(init_crypto().is_ok()); }
  JwtCodec codec_{kSecret, "atelier", 3600};
};

TEST_F(JwtTest, RoundTrip) {
  TokenClaims c{42, Tier::premium, Role::admin, 0, 0};
  auto tok = codec_.issue(c, kNow);
  ASSERT_TRUE(tok.is_ok());
  auto back = codec_.verify(*tok, kNow + 10);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(back->user_id, 42);
  EXPECT_EQ(back->tier, Tier::premium);
  EXPECT_EQ(back->role, Role::admin);
  EXPECT_EQ(back->expires_at, kNow + 3600);
}

TEST_F(JwtTest, RejectsExpired) {
  auto tok = codec_.issue({1, Tier::free, Role::user, 0, 0}, kNow);
  EXPECT_EQ(codec_.verify(*tok, kNow + 3600).status().code(), Code::unauthenticated);
}

TEST_F(JwtTest, RejectsWrongKey) {
  JwtCodec other(std::string(40, 'y'), "atelier", 3600);
  auto tok = other.issue({1, Tier::admin, Role::admin, 0, 0}, kNow);
  EXPECT_EQ(codec_.verify(*tok, kNow).status().code(), Code::unauthenticated);
}

TEST_F(JwtTest, RejectsAlgNone) {
  const std::string payload = R"({"sub":"1","iss":"atelier","tier":"admin","role":"admin","exp":)" +
                              std::to_string(kNow + 100) + "}";
  for (const char* tail : {"", "."}) {
    std::string tok = b64url(R"({"alg":"none","typ":"JWT"})") + "." + b64url(payload) + tail;
    EXPECT_EQ(codec_.verify(tok, kNow).status().code(), Code::unauthenticated) << tok;
  }
}

TEST_F(JwtTest, RejectsTamperedPayloadAndOtherIssuer) {
  const std::string good = R"({"sub":"1","iss":"atelier","tier":"free","role":"user","iat":)" +
                           std::to_string(kNow - 10) + R"(,"exp":)" + std::to_string(kNow + 100) +
                           "}";
  auto tok = hs256(kSecret, R"({"alg":"HS256","typ":"JWT"})", good);
  ASSERT_TRUE(codec_.verify(tok, kNow).is_ok());
  // Swap in an admin payload under the old signature.
  auto dot1 = tok.find('.'), dot2 = tok.rfind('.');
  std::string admin = R"({"sub":"1","iss":"atelier","tier":"admin","role":"admin","exp":)" +
                      std::to_string(kNow + 100) + "}";
  std::string forged = tok.substr(0, dot1 + 1) + b64url(admin) + tok.substr(dot2);
  EXPECT_EQ(codec_.verify(forged, kNow).status().code(), Code::unauthenticated);
  auto foreign =
      hs256(kSecret, R"({"alg":"HS256"})",
            R"({"sub":"1","iss":"evil","tier":"free","exp":)" + std::to_string(kNow + 100) + "}");
  EXPECT_EQ(codec_.verify(foreign, kNow).status().code(), Code::unauthenticated);
  auto no_exp =
      hs256(kSecret, R"({"alg":"HS256"})", R"({"sub":"1","iss":"atelier","tier":"free"})");
  EXPECT_EQ(codec_.verify(no_exp, kNow).status().code(), Code::unauthenticated);
}

TEST_F(JwtTest, RejectsGarbage) {
  for (const char* t : {"", "a", "a.b", "a.b.c", "....", "eyJ.eyJ.sig"}) {
    EXPECT_EQ(codec_.verify(t, kNow).status().code(), Code::unauthenticated) << t;
  }
  EXPECT_EQ(codec_.verify(std::string(10000, 'a'), kNow).status().code(), Code::unauthenticated);
}

TEST(Password, HashesAndVerifies) {
  ASSERT_TRUE(init_crypto().is_ok());
  PasswordParams p{1, 8u << 20};
  auto h = hash_password("correct horse", p);
  ASSERT_TRUE(h.is_ok());
  EXPECT_EQ(h->rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(verify_password(*h, "correct horse"));
  EXPECT_FALSE(verify_password(*h, "correct horsf"));
  EXPECT_FALSE(verify_password("garbage", "x"));
}

// Issue 12: a token without an issue time cannot be checked against the
// user's "tokens valid after" time, so it is refused; nbf is honoured.
TEST_F(JwtTest, Issue12RequiresIatAndHonoursNbf) {
  const auto claims = [](const std::string& extra) {
    return R"({"sub":"1","iss":"atelier","tier":"free","role":"user","exp":)" +
           std::to_string(kNow + 100) + extra + "}";
  };
  const std::string header = R"({"alg":"HS256","typ":"JWT"})";
  EXPECT_EQ(codec_.verify(hs256(kSecret, header, claims("")), kNow).status().code(),
            Code::unauthenticated);
  const std::string iat = R"(,"iat":)" + std::to_string(kNow - 5);
  EXPECT_TRUE(codec_.verify(hs256(kSecret, header, claims(iat)), kNow).is_ok());
  const auto later = hs256(kSecret, header, claims(iat + R"(,"nbf":)" + std::to_string(kNow + 30)));
  EXPECT_EQ(codec_.verify(later, kNow).status().code(), Code::unauthenticated);
  EXPECT_TRUE(codec_.verify(later, kNow + 31).is_ok());
}

}  // namespace
}  // namespace atelier
