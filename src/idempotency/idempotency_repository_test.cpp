// Conformance: Idempotency-Key claims and stored answers, on SQLite and PostgreSQL.
#include "idempotency/idempotency_repository.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "store/backends_testing.h"
#include "store/owners.h"

namespace atelier {
namespace {

using testing_support::BackendTest;
class IdempotencyRepositoryTest : public BackendTest {};

constexpr std::int64_t kStale = 120;

TEST_P(IdempotencyRepositoryTest, FirstClaimRunsThenSameRequestReplaysAndOtherRequestMismatches) {
  IdempotencyRepository repo(*db_);
  auto first = repo.claim("user:1", "k1", "fp-a", 1000, kStale);
  ASSERT_TRUE(first.is_ok()) << first.status().message();
  EXPECT_EQ(first->kind, KeyClaim::claimed);
  // While it runs, the same key is in progress (not run twice).
  EXPECT_EQ(repo.claim("user:1", "k1", "fp-a", 1001, kStale)->kind, KeyClaim::in_progress);
  ASSERT_TRUE(
      repo.complete("user:1", "k1", {201, "application/json", "/v1/x/1", "{\"id\":1}"}).is_ok());
  auto again = repo.claim("user:1", "k1", "fp-a", 1002, kStale);
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(again->kind, KeyClaim::replay);
  EXPECT_EQ(again->answer.status, 201);
  EXPECT_EQ(again->answer.content_type, "application/json");
  EXPECT_EQ(again->answer.location, "/v1/x/1");
  EXPECT_EQ(again->answer.body, "{\"id\":1}");
  EXPECT_EQ(repo.claim("user:1", "k1", "fp-b", 1003, kStale)->kind, KeyClaim::mismatch);
  // Keys are per owner: another owner's same key is its own.
  EXPECT_EQ(repo.claim("user:2", "k1", "fp-b", 1003, kStale)->kind, KeyClaim::claimed);
}

TEST_P(IdempotencyRepositoryTest, ReleasedKeyIsFreeAndStaleClaimIsTakenOverOnce) {
  IdempotencyRepository repo(*db_);
  ASSERT_EQ(repo.claim("user:1", "k", "fp", 1000, kStale)->kind, KeyClaim::claimed);
  ASSERT_TRUE(repo.release("user:1", "k").is_ok());
  EXPECT_EQ(repo.claim("user:1", "k", "fp2", 1001, kStale)->kind, KeyClaim::claimed);
  // Never completed: stale after kStale seconds, then exactly one taker.
  EXPECT_EQ(repo.claim("user:1", "k", "fp2", 1001 + kStale, kStale)->kind, KeyClaim::in_progress);
  std::atomic<int> claimed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      auto c = repo.claim("user:1", "k", "fp2", 1002 + kStale, kStale);
      ASSERT_TRUE(c.is_ok()) << c.status().message();
      if (c->kind == KeyClaim::claimed) ++claimed;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(claimed.load(), 1);
  // A release never drops a completed answer.
  ASSERT_TRUE(repo.complete("user:1", "k", {200, "application/json", "", "{}"}).is_ok());
  ASSERT_TRUE(repo.release("user:1", "k").is_ok());
  EXPECT_EQ(repo.claim("user:1", "k", "fp2", 5000, kStale)->kind, KeyClaim::replay);
}

TEST_P(IdempotencyRepositoryTest, ConcurrentClaimsOfOneKeyRunOnce) {
  IdempotencyRepository repo(*db_);
  std::atomic<int> claimed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto c = repo.claim("user:9", "same", "fp", 1000, kStale);
      ASSERT_TRUE(c.is_ok()) << c.status().message();
      if (c->kind == KeyClaim::claimed)
        ++claimed;
      else
        EXPECT_EQ(c->kind, KeyClaim::in_progress);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(claimed.load(), 1);
}

TEST_P(IdempotencyRepositoryTest, ErasedOwnerStoresNothingAndPurgeDropsOldKeys) {
  IdempotencyRepository repo(*db_);
  ASSERT_EQ(repo.claim("user:3", "a", "fp", 1000, kStale)->kind, KeyClaim::claimed);
  ASSERT_EQ(repo.claim("user:4", "b", "fp", 2000, kStale)->kind, KeyClaim::claimed);
  ASSERT_TRUE(db::mark_owner_erased(*db_, "user:3").is_ok());
  EXPECT_EQ(repo.complete("user:3", "a", {201, "application/json", "", "secret"}).code(),
            Code::unauthenticated);
  ASSERT_TRUE(repo.erase_owner("user:3").is_ok());
  auto gone = repo.purge(1500);
  ASSERT_TRUE(gone.is_ok());
  EXPECT_EQ(*gone, 0);  // user:3's key went with the owner; user:4's is newer
  EXPECT_EQ(*repo.purge(2001), 1);
  EXPECT_EQ(repo.claim("user:4", "b", "other", 3000, kStale)->kind, KeyClaim::claimed);
}

ATELIER_ON_EVERY_BACKEND(IdempotencyRepositoryTest);

}  // namespace
}  // namespace atelier
