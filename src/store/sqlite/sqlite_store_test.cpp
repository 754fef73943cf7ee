#include "app/sql_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

namespace atelier {
namespace {

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::path(::testing::TempDir()) /
           ("store_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto s = open_sqlite_store((dir_ / "t.db").string(), 4);
    ASSERT_TRUE(s.is_ok()) << s.status().message();
    store_ = std::move(s).value();
    auto v = store_->migrate();
    ASSERT_TRUE(v.is_ok()) << v.status().message();
  }
  std::filesystem::path dir_;
  StorePtr store_;
};

TEST_F(SqliteStoreTest, MigrationsAreVersionedAndIdempotent) {
  auto v1 = store_->schema_version();
  ASSERT_TRUE(v1.is_ok());
  EXPECT_GE(*v1, 1);
  auto again = store_->migrate();
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(*again, *v1);
  EXPECT_TRUE(store_->ping().is_ok());
}

TEST_F(SqliteStoreTest, UsersHaveUniqueEmails) {
  User u;
  u.email = "x@example.com";
  u.password_hash = "h";
  u.tier = Tier::premium;
  auto a = store_->create_user(u);
  ASSERT_TRUE(a.is_ok()) << a.status().message();
  EXPECT_GT(a->id, 0);
  auto dup = store_->create_user(u);
  EXPECT_EQ(dup.status().code(), Code::already_exists);
  auto found = store_->find_user_by_email("x@example.com");
  ASSERT_TRUE(found.is_ok());
  EXPECT_EQ(found->tier, Tier::premium);
  EXPECT_EQ(store_->find_user(999).status().code(), Code::not_found);
}

TEST_F(SqliteStoreTest, ApiKeysStoreHashesAndRevoke) {
  ApiKey k;
  k.name = "ci";
  k.prefix = "abcd";
  k.hash = "deadbeef";
  k.tier = Tier::admin;
  auto created = store_->create_api_key(k);
  ASSERT_TRUE(created.is_ok()) << created.status().message();
  auto found = store_->find_api_key_by_hash("deadbeef");
  ASSERT_TRUE(found.is_ok());
  EXPECT_EQ(found->tier, Tier::admin);
  EXPECT_FALSE(found->revoked_at.has_value());
  EXPECT_FALSE(found->user_id.has_value());
  ASSERT_TRUE(store_->revoke_api_key(created->id).is_ok());
  EXPECT_TRUE(store_->find_api_key_by_hash("deadbeef")->revoked_at.has_value());
  EXPECT_EQ(store_->revoke_api_key(created->id).code(), Code::not_found);
  EXPECT_EQ(store_->find_api_key_by_hash("nope").status().code(), Code::not_found);
}

TEST_F(SqliteStoreTest, ForeignKeysAreEnforced) {
  ApiKey k;
  k.name = "orphan";
  k.prefix = "p";
  k.hash = "h1";
  k.user_id = 12345;  // no such user
  EXPECT_FALSE(store_->create_api_key(k).is_ok());
}

TEST_F(SqliteStoreTest, ConcurrentUsageAddsUp) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(
            store_->add_usage({{"user:1", "2026-01-01", 2, 1}, {"user:2", "2026-01-01", 1, 1}})
                .is_ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  auto u1 = store_->get_usage("user:1", "2026-01-01");
  ASSERT_TRUE(u1.is_ok());
  EXPECT_EQ(u1->units, 8 * 50 * 2);
  EXPECT_EQ(u1->requests, 8 * 50);
  EXPECT_EQ(store_->get_usage("user:3", "2026-01-01")->units, 0);
}

}  // namespace
}  // namespace atelier
