#include "design/design_repository.h"

#include "store/owners.h"

namespace atelier {
namespace {

#define ATELIER_DESIGN_COLUMNS                                                            \
  "id, owner, room_id, input_blob, input_type, style, room_type, extra_prompt, prompt, "  \
  "negative_prompt, preset_version, strength, seed, engine, status, error, output_blob, " \
  "output_type, control_blob, cost, quota_day, idempotency_key, attempts, created_at, "   \
  "started_at, finished_at, engine_detail, canny_low, canny_high, request_hash"
#define ATELIER_ROOM_COLUMNS \
  "id, owner, name, room_type, blob, content_type, width, height, created_at"

Design read_design(const db::Row& r) {
  Design d;
  d.id = r.text(0);
  d.owner = r.text(1);
  d.room_id = r.opt_text(2);
  d.input_blob = r.text(3);
  d.input_type = r.text(4);
  d.style = r.text(5);
  d.room_type = r.text(6);
  d.extra_prompt = r.text(7);
  d.prompt = r.text(8);
  d.negative_prompt = r.text(9);
  d.preset_version = r.text(10);
  d.strength = r.real(11);
  d.seed = r.integer(12);
  d.engine = r.text(13);
  d.status = r.text(14);
  d.error = r.text(15);
  d.output_blob = r.opt_text(16);
  d.output_type = r.opt_text(17);
  d.control_blob = r.opt_text(18);
  d.cost = r.real(19);
  d.quota_day = r.text(20);
  d.idempotency_key = r.opt_text(21);
  d.attempts = static_cast<int>(r.integer(22));
  d.created_at = r.integer(23);
  d.started_at = r.opt_integer(24);
  d.finished_at = r.opt_integer(25);
  d.engine_detail = r.text(26);
  d.canny_low = r.opt_integer(27);
  d.canny_high = r.opt_integer(28);
  d.request_hash = r.text(29);
  return d;
}

Room read_room(const db::Row& r) {
  return {r.text(0),
          r.text(1),
          r.text(2),
          r.text(3),
          r.text(4),
          r.text(5),
          static_cast<int>(r.integer(6)),
          static_cast<int>(r.integer(7)),
          r.integer(8)};
}

}  // namespace

Result<Room> DesignRepository::create_room(const Room& r) {
  ATELIER_RETURN_IF_ERROR(db_.transaction(work_, [&](db::Connection& c) -> Status {
    ATELIER_RETURN_IF_ERROR(db::require_owner_live(c, r.owner));
    return c
        .execute("INSERT INTO rooms(" ATELIER_ROOM_COLUMNS ") VALUES (?,?,?,?,?,?,?,?,?)",
                 {r.id, r.owner, r.name, r.room_type, r.blob, r.content_type, r.width, r.height,
                  r.created_at})
        .status();
  }));
  return r;
}

Result<Room> DesignRepository::find_room(const std::string& owner, const std::string& id) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto room,
      db::first<Room>(*c, "SELECT " ATELIER_ROOM_COLUMNS " FROM rooms WHERE owner=? AND id=?",
                      {owner, id}, read_room));
  if (!room) return Status::not_found("no room '" + id + "'");
  return *room;
}

Result<std::vector<Room>> DesignRepository::list_rooms(const std::string& owner) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  return db::all<Room>(*c,
                       "SELECT " ATELIER_ROOM_COLUMNS
                       " FROM rooms WHERE owner=? ORDER BY created_at DESC, id DESC",
                       {owner}, read_room);
}

Result<RoomPage> DesignRepository::list_rooms(const std::string& owner, int limit,
                                              const std::optional<PagePosition>& before) {
  const KeysetBound b = keyset_bound(before);
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto found,
      db::all<Room>(*c,
                    "SELECT " ATELIER_ROOM_COLUMNS
                    " FROM rooms WHERE owner=?1 AND (?2 IS NULL OR created_at < ?2 OR "
                    "(created_at = ?2 AND id < ?3)) ORDER BY created_at DESC, id DESC LIMIT ?4",
                    {owner, b.ts, b.id, limit + 1}, read_room));
  RoomPage page;
  page.next = trim_page(found, limit, [](const Room& r) {
    return PagePosition{r.created_at, r.id};
  });
  page.items = std::move(found);
  return page;
}

Status DesignRepository::delete_room(const std::string& owner, const std::string& id) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(auto n,
                           c->execute("DELETE FROM rooms WHERE owner=? AND id=?", {owner, id}));
  if (n == 0) return Status::not_found("no room '" + id + "'");
  return Status::ok();
}

namespace {

// In a transaction: refused once the owner's erasure began (store/owners.h).
Status insert_design(db::Connection& c, const Design& d) {
  ATELIER_RETURN_IF_ERROR(db::require_owner_live(c, d.owner));
  auto st = c.execute("INSERT INTO designs(" ATELIER_DESIGN_COLUMNS
                      ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      {d.id,          d.owner,           d.room_id,        d.input_blob,
                       d.input_type,  d.style,           d.room_type,      d.extra_prompt,
                       d.prompt,      d.negative_prompt, d.preset_version, d.strength,
                       d.seed,        d.engine,          d.status,         d.error,
                       d.output_blob, d.output_type,     d.control_blob,   d.cost,
                       d.quota_day,   d.idempotency_key, d.attempts,       d.created_at,
                       d.started_at,  d.finished_at,     d.engine_detail,  d.canny_low,
                       d.canny_high,  d.request_hash});
  if (!st.is_ok()) {
    if (st.status().code() == Code::already_exists)
      return Status::already_exists("a design with this Idempotency-Key exists");
    return st.status();
  }
  return Status::ok();
}

}  // namespace

Result<Design> DesignRepository::create_design(const Design& d) {
  ATELIER_RETURN_IF_ERROR(
      db_.transaction(work_, [&](db::Connection& c) -> Status { return insert_design(c, d); }));
  return d;
}

Result<Design> DesignRepository::create_design_within(const Design& d, double budget,
                                                      std::int64_t since_ms) {
  ATELIER_RETURN_IF_ERROR(db_.transaction(work_, [&](db::Connection& c) -> Status {
    if (c.dialect() == db::Dialect::postgres)
      ATELIER_RETURN_IF_ERROR(c.script("SELECT pg_advisory_xact_lock(7418527)"));
    ATELIER_ASSIGN_OR_RETURN(
        auto held,
        db::first<double>(c,
                          "SELECT COALESCE(SUM(cost), 0) FROM designs WHERE created_at >= ? AND "
                          "status IN ('queued', 'running', 'succeeded')",
                          {since_ms}, [](const db::Row& r) { return r.real(0); }));
    if (held.value_or(0.0) + d.cost > budget + 1e-9)
      return Status::resource_exhausted("the monthly generation budget is spent");
    return insert_design(c, d);
  }));
  return d;
}

Result<Design> DesignRepository::find_design(const std::string& owner, const std::string& id) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto d,
      db::first<Design>(*c, "SELECT " ATELIER_DESIGN_COLUMNS " FROM designs WHERE owner=? AND id=?",
                        {owner, id}, read_design));
  if (!d) return Status::not_found("no design '" + id + "'");
  return *d;
}

Result<Design> DesignRepository::find_design_by_key(const std::string& owner,
                                                    const std::string& key) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(auto d,
                           db::first<Design>(*c,
                                             "SELECT " ATELIER_DESIGN_COLUMNS
                                             " FROM designs WHERE owner=? AND idempotency_key=?",
                                             {owner, key}, read_design));
  if (!d) return Status::not_found("no design for this Idempotency-Key");
  return *d;
}

Result<DesignPage> DesignRepository::list_designs(const std::string& owner,
                                                  const std::optional<std::string>& room_id,
                                                  int limit,
                                                  const std::optional<PagePosition>& before) {
  std::optional<std::int64_t> before_ts;
  std::string before_id;
  if (before) {
    before_ts = before->ts;
    before_id = before->id;
  }
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  // Ids compare bytewise on both backends (PostgreSQL: COLLATE "C" columns).
  ATELIER_ASSIGN_OR_RETURN(
      auto found,
      db::all<Design>(*c,
                      "SELECT " ATELIER_DESIGN_COLUMNS
                      " FROM designs WHERE owner=?1 AND (?2 IS NULL OR room_id=?2) AND "
                      "(?3 IS NULL OR created_at < ?3 OR (created_at = ?3 AND id < ?4)) "
                      "ORDER BY created_at DESC, id DESC LIMIT ?5",
                      {owner, room_id, before_ts, before_id, limit + 1}, read_design));
  DesignPage page;
  if (static_cast<int>(found.size()) > limit) {
    found.resize(static_cast<std::size_t>(limit));
    page.next = PagePosition{found.back().created_at, found.back().id};
  }
  page.items = std::move(found);
  return page;
}

Result<bool> DesignRepository::update_design(const Design& d,
                                             const std::optional<std::string>& only_if_status) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto n,
      c->execute("UPDATE designs SET status=?1, error=?2, output_blob=?3, output_type=?4, "
                 "control_blob=?5, cost=?6, attempts=?7, started_at=?8, finished_at=?9, "
                 "engine_detail=?10 WHERE id=?11 AND (?12 IS NULL OR status=?12)",
                 {d.status, d.error, d.output_blob, d.output_type, d.control_blob, d.cost,
                  d.attempts, d.started_at, d.finished_at, d.engine_detail, d.id, only_if_status}));
  return n > 0;
}

Result<std::optional<Design>> DesignRepository::claim_design(const std::string& worker,
                                                             std::int64_t now_ms,
                                                             std::int64_t lease_until) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  // The one dialect branch: PostgreSQL's claims skip the rows other claims
  // hold; SQLite's writers are serialised anyway.
#define ATELIER_CLAIM(LOCK)                                                            \
  "UPDATE designs SET status='running', lease_owner=?1, lease_until=?2, "              \
  "attempts=attempts+1, started_at=?3 WHERE id=(SELECT id FROM designs WHERE "         \
  "status='queued' OR (status='running' AND (lease_until IS NULL OR lease_until<?3)) " \
  "ORDER BY created_at, id LIMIT 1" LOCK ") RETURNING " ATELIER_DESIGN_COLUMNS
  const char* sql = c->dialect() == db::Dialect::postgres ? ATELIER_CLAIM(" FOR UPDATE SKIP LOCKED")
                                                          : ATELIER_CLAIM("");
#undef ATELIER_CLAIM
  return db::first<Design>(*c, sql, {worker, lease_until, now_ms}, read_design);
}

Result<bool> DesignRepository::renew_lease(const std::string& id, const std::string& worker,
                                           std::int64_t lease_until) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto n, c->execute("UPDATE designs SET lease_until=? WHERE id=? AND status='running' AND "
                         "lease_owner=?",
                         {lease_until, id, worker}));
  return n > 0;
}

Result<bool> DesignRepository::finish_leased(const Design& d, const std::string& worker) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto n,
      c->execute("UPDATE designs SET status=?1, error=?2, output_blob=?3, output_type=?4, "
                 "control_blob=?5, cost=?6, finished_at=?7, engine_detail=?8, lease_until=NULL "
                 "WHERE id=?9 AND status='running' AND lease_owner=?10",
                 {d.status, d.error, d.output_blob, d.output_type, d.control_blob, d.cost,
                  d.finished_at, d.engine_detail, d.id, worker}));
  return n > 0;
}

Result<bool> DesignRepository::release_lease(const std::string& id, const std::string& worker) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto n, c->execute("UPDATE designs SET status='queued', lease_owner=NULL, lease_until=NULL, "
                         "started_at=NULL, attempts=attempts-1 WHERE id=? AND status='running' "
                         "AND lease_owner=?",
                         {id, worker}));
  return n > 0;
}

Result<std::int64_t> DesignRepository::count_queued() {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto n, db::first<std::int64_t>(*c, "SELECT COUNT(*) FROM designs WHERE status='queued'", {},
                                      [](const db::Row& r) { return r.integer(0); }));
  return n.value_or(0);
}

Result<std::int64_t> DesignRepository::count_claimable(std::int64_t now_ms, int max_attempts) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto n, db::first<std::int64_t>(
                  *c,
                  "SELECT COUNT(*) FROM designs WHERE status='queued' OR (status='running' AND "
                  "(lease_until IS NULL OR lease_until<?) AND attempts<?)",
                  {now_ms, max_attempts}, [](const db::Row& r) { return r.integer(0); }));
  return n.value_or(0);
}

Result<std::vector<Design>> DesignRepository::designs_with_status(
    const std::vector<std::string>& statuses) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  std::vector<Design> out;
  for (const auto& s : statuses) {
    ATELIER_ASSIGN_OR_RETURN(auto found, db::all<Design>(*c,
                                                         "SELECT " ATELIER_DESIGN_COLUMNS
                                                         " FROM designs WHERE status=? ORDER BY "
                                                         "created_at, id",
                                                         {s}, read_design));
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

Status DesignRepository::delete_design(const std::string& owner, const std::string& id) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(auto n,
                           c->execute("DELETE FROM designs WHERE owner=? AND id=?", {owner, id}));
  if (n == 0) return Status::not_found("no design '" + id + "'");
  return Status::ok();
}

Result<std::vector<std::pair<std::string, std::string>>> DesignRepository::designs_before(
    std::int64_t ms) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  return db::all<std::pair<std::string, std::string>>(
      *c,
      "SELECT owner, id FROM designs WHERE created_at < ? AND status NOT IN ('queued', "
      "'running')",
      {ms}, [](const db::Row& r) { return std::make_pair(r.text(0), r.text(1)); });
}

Result<double> DesignRepository::design_spend(const std::string& owner, std::int64_t since_ms) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto v, db::first<double>(*c,
                                "SELECT COALESCE(SUM(cost), 0) FROM designs WHERE "
                                "status='succeeded' AND created_at >= ?1 AND (?2 = '' OR owner = "
                                "?2)",
                                {since_ms, owner}, [](const db::Row& r) { return r.real(0); }));
  return v.value_or(0.0);
}

Status DesignRepository::delete_design_data(const std::string& owner) {
  return db_.transaction(work_, [&](db::Connection& c) -> Status {
    ATELIER_RETURN_IF_ERROR(c.execute("DELETE FROM designs WHERE owner=?", {owner}).status());
    return c.execute("DELETE FROM rooms WHERE owner=?", {owner}).status();
  });
}

Result<bool> DesignRepository::blob_in_use(const std::string& blob) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto one, db::first<std::int64_t>(
                    *c,
                    "SELECT 1 FROM rooms WHERE blob=? UNION ALL SELECT 1 FROM designs WHERE "
                    "input_blob=? OR output_blob=? OR control_blob=? LIMIT 1",
                    {blob, blob, blob, blob}, [](const db::Row& r) { return r.integer(0); }));
  return one.has_value();
}

}  // namespace atelier
