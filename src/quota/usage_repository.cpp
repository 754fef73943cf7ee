#include "quota/usage_repository.h"

#include "store/owners.h"

namespace atelier {

Status UsageRepository::add_usage(const std::vector<UsageDelta>& deltas) {
  if (deltas.empty()) return Status::ok();
  return db_.transaction(work_, [&](db::Connection& c) -> Status {
    for (const auto& d : deltas) {
      // An erased account's usage in flight is dropped, not written back.
      const Status live = db::require_owner_live(c, db::owner_of_identity(d.identity));
      if (live.code() == Code::unauthenticated) continue;
      ATELIER_RETURN_IF_ERROR(live);
      ATELIER_RETURN_IF_ERROR(
          c.execute("INSERT INTO usage_daily(identity, day, units, requests) VALUES (?,?,?,?) "
                    "ON CONFLICT(identity, day) DO UPDATE SET units = usage_daily.units + "
                    "excluded.units, requests = usage_daily.requests + excluded.requests",
                    {d.identity, d.day, d.units, d.requests})
              .status());
    }
    return Status::ok();
  });
}

Result<Usage> UsageRepository::get_usage(const std::string& identity, const std::string& day) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto u,
      db::first<Usage>(*c, "SELECT units, requests FROM usage_daily WHERE identity=? AND day=?",
                       {identity, day}, [](const db::Row& r) {
                         return Usage{r.integer(0), r.integer(1)};
                       }));
  return u.value_or(Usage{});
}

}  // namespace atelier
