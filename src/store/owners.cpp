#include "store/owners.h"

#include "core/clock.h"

namespace atelier::db {

std::string_view owner_of_identity(std::string_view identity) {
  constexpr std::string_view kGen = "gen:";
  if (identity.substr(0, kGen.size()) == kGen) identity.remove_prefix(kGen.size());
  return identity;
}

Status require_owner_live(Connection& c, std::string_view owner) {
  if (c.dialect() == Dialect::postgres) {
    ATELIER_RETURN_IF_ERROR(c.each("SELECT pg_advisory_xact_lock_shared(7418600, hashtext(?))",
                                   {owner}, [](const Row&) {}));
  }
  bool erased = false;
  ATELIER_RETURN_IF_ERROR(c.each("SELECT 1 FROM erased_owners WHERE owner = ?", {owner},
                                 [&](const Row&) { erased = true; }));
  if (erased) return Status::unauthenticated("the account was deleted");
  return Status::ok();
}

Status mark_owner_erased(Database& db, std::string_view owner, const WorkContext& work) {
  return db.transaction(work, [&](Connection& c) -> Status {
    if (c.dialect() == Dialect::postgres) {
      ATELIER_RETURN_IF_ERROR(
          c.each("SELECT pg_advisory_xact_lock(7418600, hashtext(?))", {owner}, [](const Row&) {}));
    }
    return c
        .execute(
            "INSERT INTO erased_owners(owner, erased_at) VALUES (?, ?) ON CONFLICT (owner) DO "
            "NOTHING",
            {owner, unix_seconds()})
        .status();
  });
}

}  // namespace atelier::db
