// Conformance: daily usage counters, on SQLite and PostgreSQL.
#include "quota/usage_repository.h"

#include <gtest/gtest.h>

#include <thread>

#include "store/backends_testing.h"

namespace atelier {
namespace {

using testing_support::BackendTest;
class UsageRepositoryTest : public BackendTest {};

TEST_P(UsageRepositoryTest, ConcurrentAddsAddUpExactly) {
  UsageRepository repo(*db_);
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        EXPECT_TRUE(repo.add_usage({{"user:1", "2026-01-01", 2, 1}, {"user:2", "2026-01-01", 1, 1}})
                        .is_ok());
      }
    });
  }
  for (auto& t : threads) t.join();
  auto u1 = repo.get_usage("user:1", "2026-01-01");
  ASSERT_TRUE(u1.is_ok());
  EXPECT_EQ(u1->units, 8 * 50 * 2);
  EXPECT_EQ(u1->requests, 8 * 50);
  EXPECT_EQ(repo.get_usage("user:2", "2026-01-01")->units, 8 * 50);
  EXPECT_EQ(repo.get_usage("user:1", "2026-01-02")->units, 0);
  EXPECT_EQ(repo.get_usage("user:3", "2026-01-01")->requests, 0);
  EXPECT_TRUE(repo.add_usage({}).is_ok());
}

ATELIER_ON_EVERY_BACKEND(UsageRepositoryTest);

}  // namespace
}  // namespace atelier
