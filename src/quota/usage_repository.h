// Daily usage counters over the database seam: what the quota ledger
// flushes and reads back.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <string>
#include <vector>

#include "quota/usage.h"
#include "store/database.h"

namespace atelier {

class UsageRepository {
 public:
  explicit UsageRepository(db::Database& db) : db_(db) {}
  // This repository for one request: its leases honour the request's
  // deadline and cancellation (db::Database::lease). Cheap to make per call.
  UsageRepository in(const WorkContext& work) const {
    UsageRepository r(db_);
    r.work_ = work;
    return r;
  }
  // Adds all deltas in one transaction.
  Status add_usage(const std::vector<UsageDelta>& deltas);
  Result<Usage> get_usage(const std::string& identity, const std::string& day);

 private:
  db::Database& db_;
  WorkContext work_;  // none: background work, bounded only by the pool wait
};

}  // namespace atelier
