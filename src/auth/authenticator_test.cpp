#include "auth/authenticator.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "store/temp_database_testing.h"

namespace atelier {
namespace {

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(init_crypto().is_ok());
    store_ = std::make_unique<testing_support::TempRepository<AccountRepository>>("auth");
  }
  Authenticator make(bool anonymous) {
    return Authenticator(**store_, JwtCodec(std::string(32, 'k'), "atelier", 600), {1, 8u << 20},
                         anonymous);
  }
  std::unique_ptr<testing_support::TempRepository<AccountRepository>> store_;
};

TEST_F(AuthenticatorTest, AnonymousCallersByIpOnlyWhenAllowed) {
  auto open = make(true);
  auto id = open.authenticate("", "", "10.1.2.3");
  ASSERT_TRUE(id.is_ok());
  EXPECT_EQ(id->id, "ip:10.1.2.3");
  EXPECT_EQ(id->tier, Tier::free);
  EXPECT_TRUE(id->anonymous());
  auto closed = make(false);
  EXPECT_EQ(closed.authenticate("", "", "10.1.2.3").status().code(), Code::unauthenticated);
}

TEST_F(AuthenticatorTest, ApiKeysViaBearerOrHeaderAndRevocation) {
  auto auth = make(false);
  auto nk = auth.create_key("svc", Tier::premium, std::nullopt);
  ASSERT_TRUE(nk.is_ok());
  EXPECT_EQ(nk->secret.rfind("atl_", 0), 0u);
  EXPECT_NE(nk->key.hash, nk->secret);  // only the hash is stored
  auto a = auth.authenticate("Bearer " + nk->secret, "", "ip");
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ(a->tier, Tier::premium);
  EXPECT_EQ(a->id, "key:" + std::to_string(nk->key.id));
  auto b = auth.authenticate("", nk->secret, "ip");
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ(auth.authenticate("Bearer atl_nope_nope", "", "ip").status().code(),
            Code::unauthenticated);
  ASSERT_TRUE(auth.revoke_key(nk->key.id).is_ok());
  EXPECT_EQ(auth.authenticate("", nk->secret, "ip").status().code(), Code::unauthenticated);
}

TEST_F(AuthenticatorTest, RegisterLoginAndTokens) {
  auto auth = make(false);
  auto u = auth.register_user("Ada@Example.com", "long enough", Tier::authenticated, Role::user);
  ASSERT_TRUE(u.is_ok()) << u.status().message();
  EXPECT_EQ(u->email, "ada@example.com");
  EXPECT_EQ(auth.register_user("ada@example.com", "long enough", Tier::authenticated, Role::user)
                .status()
                .code(),
            Code::already_exists);
  EXPECT_EQ(
      auth.register_user("not-an-email", "long enough", Tier::free, Role::user).status().code(),
      Code::invalid_argument);
  EXPECT_EQ(auth.register_user("b@example.com", "short", Tier::free, Role::user).status().code(),
            Code::invalid_argument);
  auto tok = auth.login("ADA@example.com", "long enough");
  ASSERT_TRUE(tok.is_ok());
  auto id = auth.authenticate("bearer " + *tok, "", "ip");
  ASSERT_TRUE(id.is_ok());
  EXPECT_EQ(id->id, "user:" + std::to_string(u->id));
  EXPECT_EQ(auth.login("ada@example.com", "wrong password").status().code(), Code::unauthenticated);
  EXPECT_EQ(auth.login("nobody@example.com", "long enough").status().code(), Code::unauthenticated);
  EXPECT_EQ(auth.authenticate("Basic abc", "", "ip").status().code(), Code::unauthenticated);
}

}  // namespace
}  // namespace atelier
