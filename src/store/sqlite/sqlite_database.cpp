#include "store/sqlite/sqlite_database.h"

#include <sqlite3.h>

#include <vector>

namespace atelier::db {
namespace {

struct DbCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;
using StmtHandle = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

Status error(int rc, const std::string& msg) {
  const int primary = rc & 0xff;
  if (primary == SQLITE_CONSTRAINT) return Status::already_exists(msg);
  if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_CANTOPEN ||
      primary == SQLITE_IOERR || primary == SQLITE_FULL) {
    return Status::unavailable("database: " + msg);
  }
  return Status::internal("database: " + msg);
}

// Text is bound and read with its length: a NUL inside an id or a text is
// data, and must neither truncate nor match a shorter value.
class SqliteRow final : public Row {
 public:
  explicit SqliteRow(sqlite3_stmt* st) : st_(st) {}
  bool null(int col) const override { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
  std::int64_t integer(int col) const override { return sqlite3_column_int64(st_, col); }
  double real(int col) const override { return sqlite3_column_double(st_, col); }
  std::string text(int col) const override {
    const auto* p = sqlite3_column_text(st_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(st_, col)))
             : std::string();
  }
  std::string blob(int col) const override {
    const void* p = sqlite3_column_blob(st_, col);
    return p ? std::string(static_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(st_, col)))
             : std::string();
  }

 private:
  sqlite3_stmt* st_;
};

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(DbHandle db) : db_(std::move(db)) {}
  Dialect dialect() const override { return Dialect::sqlite; }

  Status each(const char* sql, const Params& params,
              const std::function<void(const Row&)>& f) override {
    ATELIER_ASSIGN_OR_RETURN(sqlite3_stmt * st, prepare(sql, params));
    SqliteRow row(st);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) f(row);
    Status out = rc == SQLITE_DONE ? Status::ok() : error(rc, sqlite3_errmsg(db_.get()));
    sqlite3_reset(st);
    return out;
  }

  Result<std::int64_t> execute(const char* sql, const Params& params) override {
    ATELIER_ASSIGN_OR_RETURN(sqlite3_stmt * st, prepare(sql, params));
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    }
    Status out = rc == SQLITE_DONE ? Status::ok() : error(rc, sqlite3_errmsg(db_.get()));
    sqlite3_reset(st);
    if (!out.is_ok()) return out;
    return static_cast<std::int64_t>(sqlite3_changes64(db_.get()));
  }

  Status script(std::string_view sql) override {
    char* err = nullptr;
    const std::string text(sql);
    const int rc = sqlite3_exec(db_.get(), text.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      return error(rc, msg);
    }
    return Status::ok();
  }

  sqlite3* raw() const { return db_.get(); }

 private:
  // Prepared once per connection, keyed by the text's address.
  Result<sqlite3_stmt*> prepare(const char* sql, const Params& params) {
    sqlite3_stmt* st = nullptr;
    for (auto& [text, stmt] : cache_) {
      if (text == sql) {
        st = stmt.get();
        break;
      }
    }
    if (!st) {
      const int rc =
          sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr);
      if (rc != SQLITE_OK) return error(rc, sqlite3_errmsg(db_.get()));
      cache_.emplace_back(sql, StmtHandle(st));
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    int i = 0;
    for (const Value& v : params) {
      ++i;
      int rc = SQLITE_OK;
      switch (v.type()) {
        case Value::Type::integer:
          rc = sqlite3_bind_int64(st, i, v.integer());
          break;
        case Value::Type::real:
          rc = sqlite3_bind_double(st, i, v.real());
          break;
        case Value::Type::text:
          rc = sqlite3_bind_text64(st, i, v.text().data(), v.text().size(), SQLITE_TRANSIENT,
                                   SQLITE_UTF8);
          break;
        case Value::Type::blob:
          rc = sqlite3_bind_blob64(st, i, v.text().data(), v.text().size(), SQLITE_TRANSIENT);
          break;
        default:
          rc = sqlite3_bind_null(st, i);
      }
      if (rc != SQLITE_OK) return error(rc, sqlite3_errmsg(db_.get()));
    }
    return st;
  }

  DbHandle db_;
  std::vector<std::pair<const char*, StmtHandle>> cache_;
};

class SqliteDatabase final : public Database {
 public:
  explicit SqliteDatabase(std::string path) : path_(std::move(path)) {}
  Dialect dialect() const override { return Dialect::sqlite; }
  std::string describe() const override { return "sqlite:" + path_; }
  void add(std::unique_ptr<Connection> c) { add_connection(std::move(c)); }

 protected:
  // IMMEDIATE takes the write lock at once: two writers never both read
  // first and then fail to upgrade.
  const char* begin_sql() const override { return "BEGIN IMMEDIATE"; }

 private:
  std::string path_;
};

}  // namespace

Result<DatabasePtr> open_sqlite(const std::string& path, int pool) {
  auto db = std::make_unique<SqliteDatabase>(path);
  for (int i = 0; i < std::max(pool, 1); ++i) {
    sqlite3* raw = nullptr;
    const int rc =
        sqlite3_open_v2(path.c_str(), &raw,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    DbHandle handle(raw);
    if (rc != SQLITE_OK) {
      return Status::unavailable("cannot open database " + path + ": " +
                                 (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
    }
    sqlite3_busy_timeout(raw, 5000);
    auto conn = std::make_unique<SqliteConnection>(std::move(handle));
    ATELIER_RETURN_IF_ERROR(conn->script(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
    db->add(std::move(conn));
  }
  return DatabasePtr(std::move(db));
}

}  // namespace atelier::db
