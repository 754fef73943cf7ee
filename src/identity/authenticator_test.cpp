#include "identity/authenticator.h"

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

// Issue 23: a lookup that read the key from the store just before another
// replica's revocation arrived (the broadcast) must not cache what it read:
// the key would be served for the whole cache TTL.
TEST_F(AuthenticatorTest, Issue23ARevocationArrivingDuringALookupIsNotUndoneByIt) {
  Authenticator auth(**store_, JwtCodec(std::string(32, 'k'), "atelier", 600), {1, 8u << 20}, false,
                     std::chrono::seconds(3600));
  auto nk = auth.create_key("svc", Tier::free, std::nullopt);
  ASSERT_TRUE(nk.is_ok());
  bool once = true;
  auth.set_after_store_read_for_testing([&] {
    if (!once) return;
    once = false;
    // Another process revokes the key and its broadcast arrives now.
    ASSERT_TRUE((**store_).revoke_api_key(nk->key.id).is_ok());
    auth.apply("key:" + std::to_string(nk->key.id));
  });
  EXPECT_TRUE(auth.authenticate("", nk->secret, "ip").is_ok());  // it read the key before
  EXPECT_EQ(auth.authenticate("", nk->secret, "ip").status().code(), Code::unauthenticated);
}

TEST_F(AuthenticatorTest, Issue23AUserForgottenDuringALookupIsNotUndoneByIt) {
  Authenticator auth(**store_, JwtCodec(std::string(32, 'k'), "atelier", 600), {1, 8u << 20}, false,
                     std::chrono::seconds(3600));
  auto u = auth.register_user("gone@example.com", "long enough", Tier::authenticated, Role::user);
  ASSERT_TRUE(u.is_ok());
  auto tok = auth.issue_token(*u);
  ASSERT_TRUE(tok.is_ok());
  bool once = true;
  auth.set_after_store_read_for_testing([&] {
    if (!once) return;
    once = false;
    ASSERT_TRUE((**store_).delete_user(u->id, {}).is_ok());
    auth.apply("user:" + std::to_string(u->id));
  });
  EXPECT_TRUE(auth.authenticate("Bearer " + *tok, "", "ip").is_ok());
  EXPECT_EQ(auth.authenticate("Bearer " + *tok, "", "ip").status().code(), Code::unauthenticated);
}

TEST_F(AuthenticatorTest, Issue25AChangedAccountIsReadAgainAndAKeyFollowsItsUsersState) {
  // A cache that would otherwise hold for an hour: only the broadcast can refresh it.
  Authenticator auth(**store_, JwtCodec(std::string(32, 'k'), "atelier", 600), {1, 8u << 20}, false,
                     std::chrono::seconds(3600));
  auto u = auth.register_user("owner@example.com", "long enough", Tier::authenticated, Role::user);
  ASSERT_TRUE(u.is_ok());
  auto nk = auth.create_key("theirs", Tier::premium, u->id);
  ASSERT_TRUE(nk.is_ok());
  ASSERT_TRUE(auth.authenticate("", nk->secret, "ip").is_ok());
  // Another process disables the user and says so: the key is refused, as disabled.
  ASSERT_TRUE((**store_).set_user_disabled(u->id, true, 0).is_ok());
  auth.apply("account:" + std::to_string(u->id));
  auto refused = auth.authenticate("", nk->secret, "ip");
  ASSERT_EQ(refused.status().code(), Code::unauthenticated);
  EXPECT_NE(refused.status().message().find("disabled"), std::string::npos);
  // Enabled again: an account change is read again at once, not remembered as gone.
  ASSERT_TRUE((**store_).set_user_disabled(u->id, false, 0).is_ok());
  auth.apply("account:" + std::to_string(u->id));
  EXPECT_TRUE(auth.authenticate("", nk->secret, "ip").is_ok());
}

}  // namespace
}  // namespace atelier
