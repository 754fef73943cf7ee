// Rooms and design jobs over the database seam. Rows are scoped by owner:
// another owner's id reads as not_found. The designs table is also the job
// queue (queued and running rows are resumed after a restart). Pages continue
// from a PagePosition (created_at, id); routes seal it as a cursor.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "design/records.h"
#include "store/database.h"

namespace atelier {

class DesignRepository {
 public:
  explicit DesignRepository(db::Database& db) : db_(db) {}
  // This repository for one request: its leases honour the request's
  // deadline and cancellation (db::Database::lease). Cheap to make per call.
  DesignRepository in(const WorkContext& work) const {
    DesignRepository r(db_);
    r.work_ = work;
    return r;
  }

  Result<Room> create_room(const Room& r);
  Result<Room> find_room(const std::string& owner, const std::string& id);
  Result<std::vector<Room>> list_rooms(const std::string& owner);
  // Newest first, a page at a time (keyset on created_at, id).
  Result<RoomPage> list_rooms(const std::string& owner, int limit,
                              const std::optional<PagePosition>& before);
  Status delete_room(const std::string& owner, const std::string& id);

  // already_exists when (owner, idempotency_key) is taken.
  Result<Design> create_design(const Design& d);
  // create_design under a budget shared by every owner and replica: the
  // designs created since `since_ms` that are queued, running or succeeded
  // hold their cost; `d` is inserted only if d.cost fits in what `budget`
  // leaves (resource_exhausted otherwise). Check and insert are one
  // transaction, serialised by a lock (an advisory lock on PostgreSQL, the
  // write lock on SQLite), so racing replicas cannot overrun it.
  Result<Design> create_design_within(const Design& d, double budget, std::int64_t since_ms);
  Result<Design> find_design(const std::string& owner, const std::string& id);
  Result<Design> find_design_by_key(const std::string& owner, const std::string& key);
  // Newest first (keyset pagination on created_at, id: stable while rows are added).
  Result<DesignPage> list_designs(const std::string& owner,
                                  const std::optional<std::string>& room_id, int limit,
                                  const std::optional<PagePosition>& before);
  // With `only_if_status`, writes only while the row still has that status.
  Result<bool> update_design(const Design& d, const std::optional<std::string>& only_if_status);
  Result<std::vector<Design>> designs_with_status(const std::vector<std::string>& statuses);

  // Job leases (many replicas): claims the oldest queued job, or a running
  // one whose lease ran out (its replica died), for `worker` until
  // `lease_until` (ms): status running, attempts + 1, started now. Writers
  // never wait on each other: PostgreSQL skips rows another claim holds
  // (FOR UPDATE SKIP LOCKED); SQLite has one writer at a time.
  Result<std::optional<Design>> claim_design(const std::string& worker, std::int64_t now_ms,
                                             std::int64_t lease_until);
  // Extends `worker`'s lease; false when the job is no longer running under
  // it (cancelled, or taken over after the lease ran out).
  Result<bool> renew_lease(const std::string& id, const std::string& worker,
                           std::int64_t lease_until);
  // update_design for the lease holder only: false when another worker has
  // taken the job over or its status moved on.
  Result<bool> finish_leased(const Design& d, const std::string& worker);
  // Gives a job back to the queue (this replica is shutting down): queued
  // again, its claim not counted; false when it is no longer `worker`'s.
  Result<bool> release_lease(const std::string& id, const std::string& worker);
  // Jobs waiting for a worker, on every replica.
  Result<std::int64_t> count_queued();
  // Jobs a claim could take now: queued, or running under a lease that ran
  // out and tried fewer than `max_attempts` times.
  Result<std::int64_t> count_claimable(std::int64_t now_ms, int max_attempts);
  Status delete_design(const std::string& owner, const std::string& id);
  Result<std::vector<std::pair<std::string, std::string>>> designs_before(std::int64_t ms);
  Result<double> design_spend(const std::string& owner, std::int64_t since_ms);
  Status delete_design_data(const std::string& owner);
  // Whether a room or design (of anyone) uses the blob.
  Result<bool> blob_in_use(const std::string& blob);

 private:
  db::Database& db_;
  WorkContext work_;  // none: background work, bounded only by the pool wait
};

}  // namespace atelier
