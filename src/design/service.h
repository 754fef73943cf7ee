// The interior design studio: rooms (a photo uploaded once), design jobs
// (restyle a room toward a style through an engine), their queue, quotas,
// cost and data lifecycle.
//
// Jobs: create() charges one generation against the caller's daily
// generation quota and writes a `queued` row: the queue is the table, shared
// by every replica. More than `queue_capacity` queued rows refuse at once
// (503) and charge nothing. Each replica's `workers` threads claim the
// oldest queued row (DesignRepository::claim_design: status `running`,
// under a lease of `lease` that a keeper thread renews every second while
// the job runs), compute the Canny control (cached by the input's hash), run
// the engine under the AI timeout and a per-job cancel token, store the
// output and move the row to `succeeded`, all conditional on still holding
// the lease. Failed and cancelled jobs give their generation back.
// A replica that dies stops renewing: once its lease runs out, any replica
// claims the job again; a job claimed a third time (its replicas died
// twice) fails instead of running: nothing is lost silently. A cancel on
// any replica changes the row; the worker's next renewal sees it and stops
// the engine. wait() reads the row, so it works on any replica.
// Idempotency: a create with a key already used by the same owner returns
// that job (created = false) and charges nothing, also under concurrent
// retries (the unique index decides; the loser refunds).
//
// Thread safety: every public method may be called concurrently.
#pragma once

#include <opencv2/core.hpp>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cache/cache.h"
#include "core/cancel.h"
#include "core/mutex.h"
#include "core/status.h"
#include "design/design_repository.h"
#include "engines/design.h"
#include "quota/limits.h"
#include "store/blobs.h"

namespace atelier::design {

struct DesignSettings {
  int workers = 2;
  std::size_t queue_capacity = 64;
  std::chrono::milliseconds ai_timeout{60000};
  std::map<std::string, double> cost_per_generation;  // engine -> USD
  double monthly_budget = 0;                          // USD for everyone; 0 = none
  std::int64_t daily_generations[4] = {3, 5, 20,
                                       100};  // by tier: free, authenticated, premium, admin
  std::string default_engine = "local";
  std::chrono::milliseconds lease{15000};  // a job's claim, renewed every second while it runs
  bool engine_per_request = true;          // callers may pick any configured engine
  std::int64_t retention_days = 0;         // 0 = keep
  bool deterministic = false;              // fixed seed 0 unless the caller gives one
};

// What the service reports to metrics (set by the composition root).
struct DesignObserver {
  std::function<void(const std::string& engine, const std::string& status, double seconds,
                     double cost)>
      finished;
  // A generation refused by a limit: "daily_generations" or "monthly_budget".
  std::function<void(int tier, const std::string& limit)> refused;
};

struct CreateDesign {
  std::string owner;
  int tier = 0;  // index into daily_generations
  std::optional<std::string> room_id;
  std::string image_bytes, image_type;  // when no room
  std::string style, room_type, extra_prompt, engine;
  double strength = 0.75;
  std::optional<std::int64_t> seed;
  std::optional<std::string> idempotency_key;
  // A digest of the request's content: a retry with the same key and a
  // different digest is refused (unprocessable) instead of replayed.
  std::string request_hash;
  std::optional<int> canny_low, canny_high;  // both or neither; default: from the image's median
};

struct Created {
  Design design;
  bool created = true;  // false: an earlier job with the same Idempotency-Key
};

class DesignService {
 public:
  DesignService(DesignRepository& store, BlobStore& blobs, QuotaLedger& ledger,
                std::map<std::string, engines::DesignEngine*> engines, DesignSettings settings,
                DesignObserver observer = {}, std::int64_t max_image_pixels = 40'000'000,
                std::unique_ptr<cache::Cache> controls = nullptr);
  ~DesignService();  // stops the workers; running jobs finish or are re-queued next start
  DesignService(const DesignService&) = delete;
  DesignService& operator=(const DesignService&) = delete;

  Result<Room> add_room(const std::string& owner, const std::string& name,
                        const std::string& room_type, const std::string& bytes,
                        const std::string& content_type, int width, int height,
                        const WorkContext& work = {});
  // Request methods take the request's WorkContext: their database leases
  // end with its deadline or cancellation. Background callers omit it.
  Result<std::vector<Room>> rooms(const std::string& owner, const WorkContext& work = {}) {
    return store_.in(work).list_rooms(owner);
  }
  Result<RoomPage> rooms(const std::string& owner, int limit,
                         const std::optional<PagePosition>& cursor, const WorkContext& work = {}) {
    return store_.in(work).list_rooms(owner, limit, cursor);
  }
  Result<Room> room(const std::string& owner, const std::string& id, const WorkContext& work = {}) {
    return store_.in(work).find_room(owner, id);
  }
  Status delete_room(const std::string& owner, const std::string& id, const WorkContext& work = {});

  Result<Created> create(const CreateDesign& req, const WorkContext& work = {});
  Result<Design> get(const std::string& owner, const std::string& id,
                     const WorkContext& work = {}) {
    return store_.in(work).find_design(owner, id);
  }
  // Blocks until the job ends or `wait` passes; returns its latest state.
  Result<Design> wait(const std::string& owner, const std::string& id,
                      std::chrono::milliseconds wait, const WorkContext& work = {});
  Result<DesignPage> list(const std::string& owner, const std::optional<std::string>& room_id,
                          int limit, const std::optional<PagePosition>& cursor,
                          const WorkContext& work = {}) {
    return store_.in(work).list_designs(owner, room_id, limit, cursor);
  }
  Result<Design> cancel(const std::string& owner, const std::string& id,
                        const WorkContext& work = {});
  Status remove(const std::string& owner, const std::string& id, const WorkContext& work = {});
  Result<std::string> blob(const std::string& hash) { return blobs_.get(hash); }

  // Spend of succeeded designs (USD): today and this month (UTC), for one owner.
  Result<std::pair<double, double>> spend(const std::string& owner, const WorkContext& work = {});
  // Everything the owner has, as JSON-ready rows; and deletion for good.
  Status delete_owner(const std::string& owner);
  // Deletes designs older than the retention setting; returns how many.
  Result<int> apply_retention();
  // At start: wakes the workers for the jobs they may claim now (queued,
  // or left running by a replica that died); returns how many.
  Result<int> recover();

  std::size_t queued() const;
  const DesignSettings& settings() const { return settings_; }
  std::vector<std::string> engines() const;

 private:
  void worker();
  void keeper();  // renews the leases of this replica's running jobs
  void run_job(Design d);
  // A job that could not run: cancelled or failed, or back to the queue when
  // this replica is stopping.
  void fail_job(const Design& d, const CancelSource& cs, const Status& s);
  void finish(Design d, const std::string& status, const std::string& error);
  void collect_blobs(const std::vector<std::string>& candidates);
  // After a row that references `hash` is written: writes `bytes` again when
  // the blob is gone. A blob is written before its row, so a deletion of
  // another row with the same bytes may have collected it in between; once
  // the row exists, the collector keeps it (BlobStore::remove_unless).
  Status keep_blob(const std::string& hash, const std::string& bytes);
  // create()'s steps: the request's own checks (before anything is read or
  // charged); a place in the queue and one generation of the daily quota;
  // after a refused insert, the refund and what the caller is told.
  Status check_create(const CreateDesign& req, const std::string& engine) const;
  Status reserve_generation(DesignRepository& store, const CreateDesign& req);
  Result<Created> insert_failed(const Status& failed, const CreateDesign& req, const Design& d,
                                const std::string& day);
  Result<std::string> control_for(const std::string& input_hash, const cv::Mat& bgr, int low,
                                  int high);

  // Claims of one job: the third means its replicas died twice (it fails).
  static constexpr int kMaxAttempts = 2;

  DesignRepository& store_;
  BlobStore& blobs_;
  QuotaLedger& ledger_;
  std::map<std::string, engines::DesignEngine*> engines_;
  DesignSettings settings_;
  DesignObserver observer_;
  std::int64_t max_image_pixels_;

  mutable Mutex mu_;
  CondVar work_cv_, done_cv_;
  std::int64_t wakeups_ GUARDED_BY(mu_) = 0;  // jobs created here since the workers looked
  std::map<std::string, CancelSource> running_ GUARDED_BY(mu_);  // cancel tokens of running jobs
  // Input hash and thresholds -> the control's blob (content-addressed in
  // the shared blob store, so replicas sharing the cache share the edge maps).
  std::unique_ptr<cache::Cache> controls_;
  bool stopping_ GUARDED_BY(mu_) = false;
  const std::string worker_id_;  // this replica's name on its leases
  std::vector<std::thread> threads_;
};

}  // namespace atelier::design
