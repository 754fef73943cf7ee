// Conformance: an owner's erasure wins every race with its writes, on SQLite
// and PostgreSQL (issue 23, defect 2).
#include "store/owners.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "store/backends_testing.h"

namespace atelier {
namespace {

using testing_support::BackendTest;
class OwnersTest : public BackendTest {};

TEST_P(OwnersTest, WritesAreRefusedOnceTheErasureBegan) {
  auto write = [&](const std::string& owner) {
    return db_->transaction([&](db::Connection& c) { return db::require_owner_live(c, owner); });
  };
  EXPECT_TRUE(write("user:1").is_ok());
  ASSERT_TRUE(db::mark_owner_erased(*db_, "user:1").is_ok());
  ASSERT_TRUE(db::mark_owner_erased(*db_, "user:1").is_ok());  // idempotent
  EXPECT_EQ(write("user:1").code(), Code::unauthenticated);
  EXPECT_TRUE(write("user:2").is_ok());
  EXPECT_EQ(db::owner_of_identity("gen:user:1"), "user:1");
  EXPECT_EQ(db::owner_of_identity("user:1"), "user:1");
}

// A write in flight when the erasure begins: the mark waits for it to
// commit, so the erase that follows the mark sees (and removes) its row.
TEST_P(OwnersTest, TheMarkWaitsForWritesInFlight) {
  std::atomic<bool> inside{false}, marked{false};
  std::atomic<bool> marked_before_commit{false};
  std::thread writer([&] {
    Status st = db_->transaction([&](db::Connection& c) -> Status {
      ATELIER_RETURN_IF_ERROR(db::require_owner_live(c, "user:7"));
      inside = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      marked_before_commit = marked.load();
      return Status::ok();
    });
    EXPECT_TRUE(st.is_ok()) << st.message();
  });
  while (!inside) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_TRUE(db::mark_owner_erased(*db_, "user:7").is_ok());
  marked = true;
  writer.join();
  EXPECT_FALSE(marked_before_commit) << "the mark committed while a write was in flight";
}

ATELIER_ON_EVERY_BACKEND(OwnersTest);

}  // namespace
}  // namespace atelier
