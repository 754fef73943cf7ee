// Conformance: rooms and design jobs, on SQLite and PostgreSQL.
#include "design/design_repository.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <thread>

#include "core/mutex.h"
#include "store/backends_testing.h"

namespace atelier {
namespace {

using testing_support::BackendTest;
class DesignRepositoryTest : public BackendTest {};

Design design(const std::string& id, const std::string& owner, std::int64_t created,
              const std::string& status = "queued") {
  Design d;
  d.id = id;
  d.owner = owner;
  d.input_blob = "in-" + id;
  d.input_type = "image/png";
  d.style = "scandinavian";
  d.room_type = "living_room";
  d.prompt = "a room";
  d.preset_version = "1";
  d.strength = 0.1;  // not exact in binary: must come back bit-equal
  d.seed = 4294967297;
  d.engine = "local";
  d.status = status;
  d.cost = 0.003;
  d.quota_day = "2026-01-01";
  d.created_at = created;
  return d;
}

TEST_P(DesignRepositoryTest, JobsAreClaimedOnceUnderLeasesAndTakenOverWhenOneRunsOut) {
  DesignRepository repo(*db_);
  for (int i = 0; i < 40; ++i)
    ASSERT_TRUE(repo.create_design(design("ds_" + std::to_string(100 + i), "user:1", i)).is_ok());
  EXPECT_EQ(*repo.count_queued(), 40);
  // Four workers (two "replicas" each) claim concurrently: each job once.
  Mutex mu;
  std::vector<std::string> claimed;
  std::vector<std::thread> workers;
  for (int w = 0; w < 4; ++w) {
    workers.emplace_back([&, w] {
      for (;;) {
        auto d = repo.claim_design("w" + std::to_string(w), 1000, 61000);
        ASSERT_TRUE(d.is_ok()) << d.status().message();
        if (!*d) return;
        EXPECT_EQ((*d)->status, "running");
        EXPECT_EQ((*d)->attempts, 1);
        MutexLock lock(mu);
        claimed.push_back((*d)->id);
      }
    });
  }
  for (auto& t : workers) t.join();
  std::sort(claimed.begin(), claimed.end());
  EXPECT_EQ(claimed.size(), 40u);
  EXPECT_EQ(std::unique(claimed.begin(), claimed.end()), claimed.end()) << "a job claimed twice";
  EXPECT_EQ(*repo.count_queued(), 0);

  // Leases: the holder renews; after they run out another worker takes over
  // and the first can neither renew nor finish.
  const std::string id = claimed.front();
  auto row = repo.find_design("user:1", id);
  ASSERT_TRUE(row.is_ok());
  const std::string holder = [&] {
    for (int w = 0; w < 4; ++w)
      if (*repo.renew_lease(id, "w" + std::to_string(w), 61000)) return "w" + std::to_string(w);
    return std::string();
  }();
  ASSERT_FALSE(holder.empty());
  EXPECT_FALSE(*repo.claim_design("x", 60000, 120000)) << "every lease runs to 61000";
  EXPECT_EQ(*repo.count_claimable(62000, 2), 40);
  auto taken = repo.claim_design("x", 62000, 122000);
  ASSERT_TRUE(taken.is_ok() && *taken);
  EXPECT_EQ((*taken)->attempts, 2);
  for (int w = 0; w < 4; ++w)
    EXPECT_FALSE(*repo.renew_lease((*taken)->id, "w" + std::to_string(w), 200000));
  EXPECT_TRUE(*repo.renew_lease((*taken)->id, "x", 123000));
  Design done = **taken;
  done.status = "succeeded";
  done.finished_at = 63000;
  for (int w = 0; w < 4; ++w) EXPECT_FALSE(*repo.finish_leased(done, "w" + std::to_string(w)));
  EXPECT_TRUE(*repo.finish_leased(done, "x"));
  EXPECT_EQ(repo.find_design("user:1", done.id)->status, "succeeded");
  // A job given back is queued again, its claim not counted.
  auto again = repo.claim_design("y", 70000, 130000);
  ASSERT_TRUE(again.is_ok() && *again);
  EXPECT_TRUE(*repo.release_lease((*again)->id, "y"));
  auto back = repo.find_design("user:1", (*again)->id);
  EXPECT_EQ(back->status, "queued");
  EXPECT_EQ(back->attempts, (*again)->attempts - 1);
  EXPECT_FALSE(*repo.release_lease((*again)->id, "y"));
}

TEST_P(DesignRepositoryTest, RoomsAreScopedByOwner) {
  DesignRepository repo(*db_);
  Room r{"rm_1", "user:1", "Lounge", "living_room", "blob1", "image/jpeg", 640, 480, 10};
  ASSERT_TRUE(repo.create_room(r).is_ok());
  EXPECT_EQ(repo.create_room(r).status().code(), Code::already_exists);
  EXPECT_EQ(repo.find_room("user:1", "rm_1")->width, 640);
  EXPECT_EQ(repo.find_room("user:2", "rm_1").status().code(), Code::not_found);
  EXPECT_EQ(repo.delete_room("user:2", "rm_1").code(), Code::not_found);
  EXPECT_EQ(repo.list_rooms("user:1")->size(), 1u);
  EXPECT_TRUE(repo.list_rooms("user:2")->empty());
  ASSERT_TRUE(repo.delete_room("user:1", "rm_1").is_ok());
}

TEST_P(DesignRepositoryTest, DesignsRoundTripAndIdempotencyKeysAreUniquePerOwner) {
  DesignRepository repo(*db_);
  Design d = design("ds_1", "user:1", 100);
  d.idempotency_key = "k1";
  d.canny_low = 50;
  d.request_hash = "abc";
  ASSERT_TRUE(repo.create_design(d).is_ok());
  auto got = repo.find_design("user:1", "ds_1");
  ASSERT_TRUE(got.is_ok());
  EXPECT_EQ(got->strength, 0.1);
  EXPECT_EQ(got->cost, 0.003);
  EXPECT_EQ(got->seed, 4294967297);
  EXPECT_EQ(got->canny_low, 50);
  EXPECT_FALSE(got->canny_high.has_value());
  EXPECT_FALSE(got->room_id.has_value());
  EXPECT_EQ(got->request_hash, "abc");
  EXPECT_EQ(repo.find_design("user:2", "ds_1").status().code(), Code::not_found);
  Design again = design("ds_2", "user:1", 101);
  again.idempotency_key = "k1";
  EXPECT_EQ(repo.create_design(again).status().code(), Code::already_exists);
  again.owner = "user:2";  // another owner may use the same key
  EXPECT_TRUE(repo.create_design(again).is_ok());
  EXPECT_EQ(repo.find_design_by_key("user:1", "k1")->id, "ds_1");
}

TEST_P(DesignRepositoryTest, PagesAreNewestFirstAndStableAcrossEqualTimes) {
  DesignRepository repo(*db_);
  // Ids that sort differently bytewise and in a natural-language collation.
  const std::vector<std::string> ids{"ds_B", "ds_a", "ds_C", "ds_b", "ds_Z", "ds__"};
  for (std::size_t i = 0; i < ids.size(); ++i) {
    Design d = design(ids[i], "user:1", i < 3 ? 500 : 400);
    if (i % 2) d.room_id = "rm_1";
    ASSERT_TRUE(repo.create_design(d).is_ok());
  }
  std::vector<std::string> seen;
  std::optional<PagePosition> cursor;
  do {
    auto page = repo.list_designs("user:1", std::nullopt, 2, cursor);
    ASSERT_TRUE(page.is_ok()) << page.status().message();
    for (const auto& d : page->items) seen.push_back(d.id);
    cursor = page->next;
  } while (cursor);
  // created_at 500 first, then 400; within each, ids descending bytewise.
  EXPECT_EQ(seen, (std::vector<std::string>{"ds_a", "ds_C", "ds_B", "ds_b", "ds__", "ds_Z"}));
  auto in_room = repo.list_designs("user:1", std::string("rm_1"), 10, std::nullopt);
  EXPECT_EQ(in_room->items.size(), 3u);
  // Malformed and forged cursors are refused where they are opened (core/page_cursor_test.cpp).
}

TEST_P(DesignRepositoryTest, ABudgetIsHeldExactlyByRacingCreatorsAndFreedByFailedJobs) {
  DesignRepository repo(*db_);
  // Last month's job and a failed one hold nothing.
  Design old = design("ds_old", "user:1", 10, "succeeded");
  old.cost = 3;
  ASSERT_TRUE(repo.create_design(old).is_ok());
  Design failed = design("ds_failed", "user:1", 1000, "failed");
  failed.cost = 3;
  ASSERT_TRUE(repo.create_design(failed).is_ok());
  // Eight "replicas" race to create three jobs each at 1 USD under a 5 USD budget.
  Mutex mu;
  std::vector<std::string> made;
  int refused = 0;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      DesignRepository mine(*db_);
      for (int i = 0; i < 3; ++i) {
        Design d = design("ds_" + std::to_string(t) + "_" + std::to_string(i),
                          "user:" + std::to_string(t), 1000);
        d.cost = 1;
        auto r = mine.create_design_within(d, 5, 100);
        MutexLock lk(mu);
        if (r.is_ok()) {
          made.push_back(d.id);
        } else {
          EXPECT_EQ(r.status().code(), Code::resource_exhausted) << r.status().message();
          ++refused;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(made.size(), 5u);
  EXPECT_EQ(refused, 19);
  // A job that fails gives its cost back.
  Design d = *repo.find_design("user:" + made[0].substr(3, 1), made[0]);
  d.status = "failed";
  ASSERT_TRUE(*repo.update_design(d, std::nullopt));
  Design next = design("ds_next", "user:9", 1000);
  next.cost = 1;
  EXPECT_TRUE(repo.create_design_within(next, 5, 100).is_ok());
  next.id = "ds_over";
  EXPECT_EQ(repo.create_design_within(next, 5, 100).status().code(), Code::resource_exhausted);
}

TEST_P(DesignRepositoryTest, StatusChangesAreConditionalAndSpendCountsSucceededOnly) {
  DesignRepository repo(*db_);
  ASSERT_TRUE(repo.create_design(design("ds_1", "user:1", 1000)).is_ok());
  ASSERT_TRUE(repo.create_design(design("ds_2", "user:2", 1000, "succeeded")).is_ok());
  Design d = *repo.find_design("user:1", "ds_1");
  d.status = "running";
  d.started_at = 1001;
  EXPECT_TRUE(*repo.update_design(d, std::string("queued")));
  d.status = "cancelled";
  EXPECT_FALSE(*repo.update_design(d, std::string("queued")));  // no longer queued
  d.status = "succeeded";
  d.output_blob = "out";
  d.finished_at = 1002;
  EXPECT_TRUE(*repo.update_design(d, std::nullopt));
  auto now = repo.find_design("user:1", "ds_1");
  EXPECT_EQ(now->status, "succeeded");
  EXPECT_EQ(now->output_blob, "out");
  EXPECT_EQ(now->started_at, 1001);
  EXPECT_DOUBLE_EQ(*repo.design_spend("", 0), 0.006);
  EXPECT_DOUBLE_EQ(*repo.design_spend("user:1", 0), 0.003);
  EXPECT_DOUBLE_EQ(*repo.design_spend("user:1", 2000), 0.0);
  EXPECT_EQ(repo.designs_with_status({"queued", "running"})->size(), 0u);
  for (const char* used : {"in-ds_1", "in-ds_2", "out"}) EXPECT_TRUE(*repo.blob_in_use(used));
  EXPECT_FALSE(*repo.blob_in_use("nobody's"));
  EXPECT_EQ(repo.designs_before(5000)->size(), 2u);
  ASSERT_TRUE(repo.delete_design_data("user:1").is_ok());
  EXPECT_EQ(repo.find_design("user:1", "ds_1").status().code(), Code::not_found);
  EXPECT_TRUE(repo.find_design("user:2", "ds_2").is_ok());
  EXPECT_EQ(repo.delete_design("user:2", "ds_x").code(), Code::not_found);
}

ATELIER_ON_EVERY_BACKEND(DesignRepositoryTest);

}  // namespace
}  // namespace atelier
