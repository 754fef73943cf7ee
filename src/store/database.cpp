#include "store/database.h"

#include <chrono>

#include "core/clock.h"
#include "core/mutex.h"
#include "store/postgres/postgres_database.h"
#include "store/sqlite/sqlite_database.h"

namespace atelier::db {

struct Database::Pool {
  Mutex mu;
  CondVar cv;
  std::vector<std::unique_ptr<Connection>> free GUARDED_BY(mu);
  std::size_t size GUARDED_BY(mu) = 0;
};

std::shared_ptr<Database::Pool> Database::make_pool() {
  return std::make_shared<Pool>();
}

void Database::add_connection(std::unique_ptr<Connection> c) {
  MutexLock lock(pool_->mu);
  pool_->free.push_back(std::move(c));
  ++pool_->size;
}

Lease::~Lease() {
  if (c_) db_->give_back(std::move(c_));
}

void Database::give_back(std::unique_ptr<Connection> c) {
  {
    MutexLock lock(pool_->mu);
    pool_->free.push_back(std::move(c));
  }
  pool_->cv.notify_one();
}

Result<Lease> Database::lease(const WorkContext& work, std::chrono::milliseconds max_wait) {
  ATELIER_RETURN_IF_ERROR(work.check());
  const auto give_up = std::min(SteadyClock::now() + max_wait, work.deadline.at);
  // Cancellation has no way to wake the condition variable, so a waiter
  // looks at it every few milliseconds; the pool's own hand-backs wake it.
  constexpr auto kPoll = std::chrono::milliseconds(20);
  MutexLock lock(pool_->mu);
  while (pool_->free.empty()) {
    const auto now = SteadyClock::now();
    if (now >= give_up) {
      ATELIER_RETURN_IF_ERROR(work.check());
      return Status::unavailable("all " + std::to_string(pool_->size) +
                                 " database connections are busy");
    }
    pool_->cv.wait_until(pool_->mu, std::min(give_up, now + kPoll));
    if (work.cancel.cancelled()) return Status::cancelled("the client went away");
  }
  auto c = std::move(pool_->free.back());
  pool_->free.pop_back();
  return Lease(this, std::move(c));
}

Status Database::transaction(const WorkContext& work, const std::function<Status(Connection&)>& f) {
  ATELIER_ASSIGN_OR_RETURN(Lease c, lease(work));
  ATELIER_RETURN_IF_ERROR(c->script(begin_sql()));
  Status st = f(*c);
  if (!st.is_ok()) {
    (void)c->script("ROLLBACK");
    return st;
  }
  st = c->script("COMMIT");
  if (!st.is_ok()) (void)c->script("ROLLBACK");
  return st;
}

namespace {
Result<int> version_on(Connection& c) {
  ATELIER_ASSIGN_OR_RETURN(
      auto v, first<std::int64_t>(c, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", {},
                                  [](const Row& r) { return r.integer(0); }));
  return static_cast<int>(v.value_or(0));
}
}  // namespace

Result<int> Database::schema_version() {
  ATELIER_ASSIGN_OR_RETURN(Lease c, lease());
  return version_on(*c);
}

Status Database::ping() {
  ATELIER_ASSIGN_OR_RETURN(Lease c, lease());
  return c->each("SELECT 1", {}, [](const Row&) {});
}

Result<int> Database::migrate(const std::vector<Migration>& migrations) {
  // Replicas starting at once on a fresh database: PostgreSQL's CREATE TABLE
  // IF NOT EXISTS is not safe against a concurrent one (a duplicate-key error
  // on its catalog), so the first creation is serialised by an advisory lock.
  ATELIER_RETURN_IF_ERROR(transaction([&](Connection& c) -> Status {
    if (dialect() == Dialect::postgres)
      ATELIER_RETURN_IF_ERROR(c.script("SELECT pg_advisory_xact_lock(7418526)"));
    return c.script(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
        "name TEXT NOT NULL, applied_at BIGINT NOT NULL)");
  }));
  int reached = 0;
  for (const auto& m : migrations) {
    // Each migration checks the version inside its own transaction, so two
    // processes migrating at once apply it once (the second sees it done).
    bool applied = false;
    Status st = transaction([&](Connection& c) -> Status {
      if (dialect() == Dialect::postgres) {
        ATELIER_RETURN_IF_ERROR(c.script("LOCK TABLE schema_migrations IN EXCLUSIVE MODE"));
      }
      ATELIER_ASSIGN_OR_RETURN(int current, version_on(c));
      reached = current;
      if (m.version <= current) return Status::ok();
      const char* sql = dialect() == Dialect::postgres && m.postgres ? m.postgres : m.sqlite;
      ATELIER_RETURN_IF_ERROR(c.script(sql));
      ATELIER_RETURN_IF_ERROR(
          c.execute("INSERT INTO schema_migrations(version, name, applied_at) VALUES (?,?,?)",
                    {m.version, m.name, unix_seconds()})
              .status());
      applied = true;
      return Status::ok();
    });
    if (!st.is_ok()) {
      return Status(st.code(), "migration " + std::to_string(m.version) + " (" + m.name +
                                   ") failed: " + st.message());
    }
    if (applied) reached = m.version;
  }
  return reached;
}

Result<DatabasePtr> open_database(const std::string& url, int pool) {
  if (url.rfind("postgresql://", 0) == 0 || url.rfind("postgres://", 0) == 0) {
    return open_postgres(url, pool);
  }
  return open_sqlite(url.rfind("sqlite:", 0) == 0 ? url.substr(7) : url, pool);
}

}  // namespace atelier::db
