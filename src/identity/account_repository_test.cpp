// Conformance: users and API keys, on SQLite and PostgreSQL.
#include "identity/account_repository.h"

#include <gtest/gtest.h>

#include "quota/usage_repository.h"
#include "store/backends_testing.h"

namespace atelier {
namespace {

using testing_support::BackendTest;
class AccountRepositoryTest : public BackendTest {};

User user(const std::string& email, Tier tier = Tier::authenticated) {
  User u;
  u.email = email;
  u.password_hash = "$argon2id$h";
  u.tier = tier;
  return u;
}

TEST_P(AccountRepositoryTest, UsersHaveUniqueEmailsAndReadBackWhole) {
  AccountRepository repo(*db_);
  auto a = repo.create_user(user("x@example.com", Tier::premium));
  ASSERT_TRUE(a.is_ok()) << a.status().message();
  EXPECT_GT(a->id, 0);
  EXPECT_GT(a->created_at, 0);
  EXPECT_EQ(repo.create_user(user("x@example.com")).status().code(), Code::already_exists);
  auto found = repo.find_user_by_email("x@example.com");
  ASSERT_TRUE(found.is_ok());
  EXPECT_EQ(found->id, a->id);
  EXPECT_EQ(found->tier, Tier::premium);
  EXPECT_EQ(found->role, Role::user);
  EXPECT_EQ(found->password_hash, "$argon2id$h");
  EXPECT_EQ(repo.find_user(a->id)->email, "x@example.com");
  EXPECT_EQ(repo.find_user(a->id + 1000).status().code(), Code::not_found);
  EXPECT_EQ(repo.find_user_by_email("X@example.com").status().code(), Code::not_found);
}

TEST_P(AccountRepositoryTest, DisablingMovesTokenCutoffOnlyForward) {
  AccountRepository repo(*db_);
  auto u = repo.create_user(user("d@example.com"));
  ASSERT_TRUE(u.is_ok());
  ASSERT_TRUE(repo.set_user_disabled(u->id, true, 500).is_ok());
  ASSERT_TRUE(repo.set_user_disabled(u->id, false, 100).is_ok());
  auto now = repo.find_user(u->id);
  EXPECT_FALSE(now->disabled);
  EXPECT_EQ(now->tokens_valid_after, 500);
  EXPECT_EQ(repo.set_user_disabled(u->id + 99, true, 1).code(), Code::not_found);
}

TEST_P(AccountRepositoryTest, UsersAreListedByIdAndTheirTierCarriesTheRole) {
  AccountRepository repo(*db_);
  auto a = repo.create_user(user("first@example.com"));
  auto b = repo.create_user(user("second@example.com"));
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  ASSERT_TRUE(repo.set_user_tier(b->id, Tier::admin).is_ok());
  auto all = repo.list_users();
  ASSERT_TRUE(all.is_ok());
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].email, "first@example.com");
  EXPECT_EQ((*all)[1].tier, Tier::admin);
  EXPECT_EQ((*all)[1].role, Role::admin);
  ASSERT_TRUE(repo.set_user_tier(b->id, Tier::premium).is_ok());
  EXPECT_EQ(repo.find_user(b->id)->role, Role::user);
  EXPECT_EQ(repo.set_user_tier(b->id + 99, Tier::free).code(), Code::not_found);
}

TEST_P(AccountRepositoryTest, KeysStoreHashesRevokeOnceAndNeedAnExistingUser) {
  AccountRepository repo(*db_);
  ApiKey k;
  k.name = "ci";
  k.prefix = "abcd";
  k.hash = "deadbeef";
  k.tier = Tier::admin;
  auto created = repo.create_api_key(k);
  ASSERT_TRUE(created.is_ok()) << created.status().message();
  auto found = repo.find_api_key_by_hash("deadbeef");
  ASSERT_TRUE(found.is_ok());
  EXPECT_EQ(found->tier, Tier::admin);
  EXPECT_FALSE(found->user_id.has_value());
  EXPECT_FALSE(found->revoked_at.has_value());
  ASSERT_TRUE(repo.revoke_api_key(created->id).is_ok());
  EXPECT_TRUE(repo.find_api_key_by_hash("deadbeef")->revoked_at.has_value());
  EXPECT_EQ(repo.revoke_api_key(created->id).code(), Code::not_found);
  EXPECT_EQ(repo.find_api_key_by_hash("nope").status().code(), Code::not_found);
  k.hash = "h1";
  k.user_id = 12345;  // no such user: the foreign key refuses it
  EXPECT_FALSE(repo.create_api_key(k).is_ok());
  k.hash = "deadbeef";
  k.user_id.reset();
  EXPECT_EQ(repo.create_api_key(k).status().code(), Code::already_exists);
  EXPECT_EQ(repo.list_api_keys()->size(), 1u);
}

TEST_P(AccountRepositoryTest, DeletingAUserTakesKeysAndUsageInOneGo) {
  AccountRepository repo(*db_);
  UsageRepository usage(*db_);
  auto u = repo.create_user(user("gone@example.com"));
  auto other = repo.create_user(user("stays@example.com"));
  ApiKey k;
  k.name = "k";
  k.prefix = "p";
  k.hash = "h";
  k.user_id = u->id;
  ASSERT_TRUE(repo.create_api_key(k).is_ok());
  const std::string me = "user:" + std::to_string(u->id),
                    them = "user:" + std::to_string(other->id);
  ASSERT_TRUE(usage.add_usage({{me, "2026-01-01", 5, 1}, {them, "2026-01-01", 7, 1}}).is_ok());
  ASSERT_TRUE(repo.delete_user(u->id, {me, "key:1"}).is_ok());
  EXPECT_EQ(repo.find_user(u->id).status().code(), Code::not_found);
  EXPECT_EQ(repo.find_api_key_by_hash("h").status().code(), Code::not_found);
  EXPECT_EQ(usage.get_usage(me, "2026-01-01")->units, 0);
  EXPECT_EQ(usage.get_usage(them, "2026-01-01")->units, 7);
  EXPECT_TRUE(repo.find_user(other->id).is_ok());
}

// Issue 23, defect 1: SQLite gave the next user the id of a deleted user
// that held the largest id, and that user's token opened the new account.
TEST_P(AccountRepositoryTest, Issue23IdsOfDeletedUsersAndKeysAreNeverReused) {
  AccountRepository repo(*db_);
  auto a = repo.create_user(user("a@example.com"));
  auto b = repo.create_user(user("b@example.com"));
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  ApiKey k;
  k.user_id = b->id;
  k.name = "k";
  k.prefix = "p";
  k.hash = "h1";
  k.tier = Tier::free;
  auto key = repo.create_api_key(k);
  ASSERT_TRUE(key.is_ok()) << key.status().message();
  ASSERT_TRUE(repo.delete_user(b->id, {}).is_ok());  // the largest id, with its key
  auto c = repo.create_user(user("c@example.com"));
  ASSERT_TRUE(c.is_ok());
  EXPECT_GT(c->id, b->id);
  k.user_id = c->id;
  k.hash = "h2";
  auto key2 = repo.create_api_key(k);
  ASSERT_TRUE(key2.is_ok());
  EXPECT_GT(key2->id, key->id);
}

ATELIER_ON_EVERY_BACKEND(AccountRepositoryTest);

}  // namespace
}  // namespace atelier
