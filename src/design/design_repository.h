// Rooms and design jobs over the database seam. Rows are scoped by owner:
// another owner's id reads as not_found. The designs table is also the job
// queue (queued and running rows are resumed after a restart). Page cursors
// are this repository's own format ("<created_at>.<id>", opaque to callers).
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
  Status delete_room(const std::string& owner, const std::string& id);

  // already_exists when (owner, idempotency_key) is taken.
  Result<Design> create_design(const Design& d);
  Result<Design> find_design(const std::string& owner, const std::string& id);
  Result<Design> find_design_by_key(const std::string& owner, const std::string& key);
  // Newest first (keyset pagination on created_at, id: stable while rows are added).
  Result<DesignPage> list_designs(const std::string& owner,
                                  const std::optional<std::string>& room_id, int limit,
                                  const std::optional<std::string>& cursor);
  // With `only_if_status`, writes only while the row still has that status.
  Result<bool> update_design(const Design& d, const std::optional<std::string>& only_if_status);
  Result<std::vector<Design>> designs_with_status(const std::vector<std::string>& statuses);
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
