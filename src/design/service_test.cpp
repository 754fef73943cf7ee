// DesignService against a real SQLite store and blob directory: retention,
// recovery of jobs a dead process left behind, and blob collection.
#include "design/service.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <opencv2/imgcodecs.hpp>

#include <filesystem>

#include "engines/local/recolor.h"
#include "store/temp_database_testing.h"

namespace atelier::design {
namespace {

namespace fs = std::filesystem;

struct Fixture {
  fs::path dir =
      fs::temp_directory_path() / ("atelier-design-" + std::to_string(::getpid()) + "-" +
                                   std::to_string(reinterpret_cast<std::uintptr_t>(this)));
  testing_support::TempRepository<DesignRepository> store{"design"};
  UsageRepository usage{*store.db};
  std::unique_ptr<BlobStore> blobs;
  std::unique_ptr<QuotaLedger> ledger;
  engines::RecolorEngine engine;
  Fixture() {
    fs::create_directories(dir);
    blobs = open_file_blob_store((dir / "blobs").string());
    ledger = make_memory_quota_ledger(usage, system_clock_seconds());
  }
  ~Fixture() { fs::remove_all(dir); }
  Design row(const std::string& id, const std::string& status, std::int64_t created_at,
             const std::string& blob) {
    Design d;
    d.id = id;
    d.owner = "user:1";
    d.input_blob = blob;
    d.input_type = "image/png";
    d.style = "modern";
    d.room_type = "bedroom";
    d.status = status;
    d.engine = "local";
    d.quota_day = "2026-01-01";
    d.created_at = created_at;
    return d;
  }
};

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string png() {
  std::vector<unsigned char> out;
  cv::imencode(".png", cv::Mat(48, 64, CV_8UC3, cv::Scalar(90, 120, 200)), out);
  return std::string(out.begin(), out.end());
}

TEST(DesignService, RetentionDeletesOldDesignsAndTheirBlobs) {
  Fixture f;
  const std::string old_blob = *f.blobs->put(png() + "old");
  const std::string new_blob = *f.blobs->put(png() + "new");
  ASSERT_TRUE(
      f.store->create_design(f.row("ds_old", "succeeded", now_ms() - 10 * 86'400'000LL, old_blob))
          .is_ok());
  ASSERT_TRUE(f.store->create_design(f.row("ds_new", "succeeded", now_ms(), new_blob)).is_ok());
  DesignSettings s;
  s.retention_days = 7;
  DesignService svc(*f.store, *f.blobs, *f.ledger, {{"local", &f.engine}}, s);
  auto n = svc.apply_retention();
  ASSERT_TRUE(n.is_ok());
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(f.store->find_design("user:1", "ds_old").status().code(), Code::not_found);
  EXPECT_TRUE(f.store->find_design("user:1", "ds_new").is_ok());
  EXPECT_FALSE(f.blobs->exists(old_blob));
  EXPECT_TRUE(f.blobs->exists(new_blob));
}

TEST(DesignService, RecoveryResumesOrphansAndFailsJobsInterruptedTwice) {
  Fixture f;
  const std::string blob = *f.blobs->put(png());
  auto resumed = f.row("ds_a", "running", now_ms(), blob);
  resumed.attempts = 1;
  auto twice = f.row("ds_b", "running", now_ms(), blob);
  twice.attempts = 2;
  auto queued = f.row("ds_c", "queued", now_ms(), blob);
  for (auto* d : {&resumed, &twice, &queued}) ASSERT_TRUE(f.store->create_design(*d).is_ok());
  // Claimable: the orphan and the queued job; not the one interrupted twice.
  EXPECT_EQ(*f.store->count_claimable(now_ms(), 2), 2);
  DesignService svc(*f.store, *f.blobs, *f.ledger, {{"local", &f.engine}}, {});
  ASSERT_TRUE(svc.recover().is_ok());
  for (const char* id : {"ds_a", "ds_c"}) {
    auto d = svc.wait("user:1", id, std::chrono::seconds(20));
    ASSERT_TRUE(d.is_ok());
    EXPECT_EQ(d->status, "succeeded") << id << ": " << d->error;
  }
  // A job whose engine is gone fails with the reason instead of waiting forever.
  auto gone = f.row("ds_d", "queued", now_ms(), blob);
  gone.engine = "replicate";
  ASSERT_TRUE(f.store->create_design(gone).is_ok());
  ASSERT_TRUE(svc.recover().is_ok());
  auto g = svc.wait("user:1", "ds_d", std::chrono::seconds(20));
  ASSERT_TRUE(g.is_ok());
  EXPECT_EQ(g->status, "failed");
  EXPECT_NE(g->error.find("engine 'replicate' is no longer configured"), std::string::npos)
      << g->error;
  auto b = f.store->find_design("user:1", "ds_b");
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ(b->status, "failed");
  EXPECT_NE(b->error.find("interrupted by restarts twice"), std::string::npos);
}

// A blob store where a deletion of another row with the same bytes collects
// the blob right after an upload's put(), before its row is written: the race
// that keep_blob() closes.
class RacedBlobs final : public BlobStore {
 public:
  explicit RacedBlobs(BlobStore& real) : real_(real) {}
  int lost = 0;
  Result<std::string> put(const std::string& bytes) override {
    auto h = real_.put(bytes);
    if (h.is_ok() && lost == 0) {
      ++lost;
      (void)real_.remove(*h);
    }
    return h;
  }
  Result<std::string> get(const std::string& hash) override { return real_.get(hash); }
  Status remove(const std::string& hash) override { return real_.remove(hash); }
  bool exists(const std::string& hash) override { return real_.exists(hash); }
  Status remove_unless(const std::string& hash,
                       const std::function<Result<bool>()>& in_use) override {
    return real_.remove_unless(hash, in_use);
  }

 private:
  BlobStore& real_;
};

TEST(DesignService, AnUploadWhoseBlobWasCollectedBeforeItsRowWritesItAgain) {
  Fixture f;
  RacedBlobs raced(*f.blobs);
  DesignService svc(*f.store, raced, *f.ledger, {{"local", &f.engine}}, {});
  auto room = svc.add_room("user:1", "den", "bedroom", png(), "image/png", 64, 48);
  ASSERT_TRUE(room.is_ok()) << room.status().message();
  EXPECT_EQ(raced.lost, 1);
  EXPECT_TRUE(f.blobs->exists(room->blob)) << "the row's blob is there";
  EXPECT_EQ(*f.blobs->get(room->blob), png());
}

}  // namespace
}  // namespace atelier::design
