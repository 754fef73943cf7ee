#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <vector>

namespace atelier {
namespace {

#define ATELIER_COLLECTION_SELECT                                                             \
  "SELECT c.id, c.name, c.owner, c.model, c.dimensions, c.created_at, (SELECT COUNT(*) FROM " \
  "documents d WHERE "                                                                        \
  "d.collection_id = c.id), c.version, c.visibility FROM collections c"
#define ATELIER_KEY_SELECT \
  "SELECT id, user_id, name, prefix, hash, tier, created_at, revoked_at FROM api_keys"

struct DbCloser {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;
using StmtHandle = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Versioned migrations. The statements are portable SQL except for the
// integer primary keys, which PostgreSQL spells as identity columns.
struct Migration {
  int version;
  const char* name;
  const char* sql;
};
const Migration kMigrations[] = {
    {1, "identity and usage", R"SQL(
CREATE TABLE users (
  id INTEGER PRIMARY KEY,
  email TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  tier TEXT NOT NULL,
  role TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE api_keys (
  id INTEGER PRIMARY KEY,
  user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  tier TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX api_keys_user ON api_keys(user_id);
CREATE TABLE usage_daily (
  identity TEXT NOT NULL,
  day TEXT NOT NULL,
  units BIGINT NOT NULL DEFAULT 0,
  requests BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (identity, day)
);
)SQL"},
    // The full-text index is SQLite FTS5 (external content, Porter stemming);
    // PostgreSQL will use a tsvector column for the same role.
    {2, "search collections", R"SQL(
CREATE TABLE collections (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  owner TEXT NOT NULL,
  model TEXT NOT NULL,
  dimensions INTEGER NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE documents (
  id INTEGER PRIMARY KEY,
  collection_id BIGINT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
  doc_id TEXT NOT NULL,
  text TEXT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}',
  vector BLOB,
  UNIQUE (collection_id, doc_id)
);
CREATE VIRTUAL TABLE documents_fts USING fts5(
  text, content='documents', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
);
)SQL"},
    // A change counter per collection, bumped in the same transaction as every
    // document write: index files in the data dir record the version they
    // reflect ("last change applied") and are rebuilt when it differs.
    {3, "collection versions", R"SQL(
ALTER TABLE collections ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
)SQL"},
    // Interior design studio: rooms (uploaded once, reused) and design jobs.
    // The designs table is also the job queue: a restart finds queued and
    // running rows and resumes them.
    {4, "design studio", R"SQL(
CREATE TABLE rooms (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  name TEXT NOT NULL,
  room_type TEXT NOT NULL,
  blob TEXT NOT NULL,
  content_type TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX rooms_owner ON rooms(owner, created_at);
CREATE TABLE designs (
  id TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  room_id TEXT,
  input_blob TEXT NOT NULL,
  input_type TEXT NOT NULL,
  style TEXT NOT NULL,
  room_type TEXT NOT NULL,
  extra_prompt TEXT NOT NULL,
  prompt TEXT NOT NULL,
  negative_prompt TEXT NOT NULL,
  preset_version TEXT NOT NULL,
  strength REAL NOT NULL,
  seed BIGINT NOT NULL,
  engine TEXT NOT NULL,
  status TEXT NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  output_blob TEXT,
  output_type TEXT,
  control_blob TEXT,
  cost REAL NOT NULL DEFAULT 0,
  quota_day TEXT NOT NULL,
  idempotency_key TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT,
  engine_detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX designs_owner_room ON designs(owner, room_id);
CREATE INDEX designs_created ON designs(created_at);
CREATE INDEX designs_status ON designs(status);
CREATE UNIQUE INDEX designs_idempotency ON designs(owner, idempotency_key);
)SQL"},
    {5, "design control thresholds", R"SQL(
ALTER TABLE designs ADD COLUMN canny_low INTEGER;
ALTER TABLE designs ADD COLUMN canny_high INTEGER;
)SQL"},
    // Collections are private to their owner unless made public; sessions
    // end when a user is disabled; idempotent retries must repeat the body.
    {6, "privacy and idempotency", R"SQL(
ALTER TABLE collections ADD COLUMN visibility TEXT NOT NULL DEFAULT 'private';
ALTER TABLE users ADD COLUMN tokens_valid_after BIGINT NOT NULL DEFAULT 0;
ALTER TABLE designs ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';
)SQL"},
    // BM25 moved into the search capability (search/bm25_index.h): an index it
    // derives from the documents table, the same on every database.
    {7, "full-text index leaves the database", R"SQL(
DROP TABLE IF EXISTS documents_fts;
)SQL"},
};

// Text is bound and read with its length: a NUL inside an id or a text is
// data, and must neither truncate nor match a shorter value.
std::string text_at(sqlite3_stmt* st, int col) {
  auto* p = sqlite3_column_text(st, col);
  return p ? std::string(reinterpret_cast<const char*>(p),
                         static_cast<std::size_t>(sqlite3_column_bytes(st, col)))
           : std::string();
}
void bind_str(sqlite3_stmt* st, int i, const std::string& v) {
  sqlite3_bind_text64(st, i, v.data(), v.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

// Binds values to ?1.. in order: text, integers, doubles, optionals (NULL).
void bind_one(sqlite3_stmt* st, int i, const std::string& v) {
  bind_str(st, i, v);
}
void bind_one(sqlite3_stmt* st, int i, std::int64_t v) {
  sqlite3_bind_int64(st, i, v);
}
void bind_one(sqlite3_stmt* st, int i, int v) {
  sqlite3_bind_int(st, i, v);
}
void bind_one(sqlite3_stmt* st, int i, double v) {
  sqlite3_bind_double(st, i, v);
}
template <class T>
void bind_one(sqlite3_stmt* st, int i, const std::optional<T>& v) {
  if (v)
    bind_one(st, i, *v);
  else
    sqlite3_bind_null(st, i);
}
template <class... A>
void bind_all(sqlite3_stmt* st, const A&... a) {
  int i = 0;
  (bind_one(st, ++i, a), ...);
}
std::optional<std::string> opt_text(sqlite3_stmt* st, int col) {
  if (sqlite3_column_type(st, col) == SQLITE_NULL) return std::nullopt;
  return text_at(st, col);
}
std::optional<std::int64_t> opt_int(sqlite3_stmt* st, int col) {
  if (sqlite3_column_type(st, col) == SQLITE_NULL) return std::nullopt;
  return sqlite3_column_int64(st, col);
}

#define ATELIER_DESIGN_COLUMNS                                                                 \
  "id, owner, room_id, input_blob, input_type, style, room_type, extra_prompt, prompt, "       \
  "negative_prompt, "                                                                          \
  "preset_version, strength, seed, engine, status, error, output_blob, output_type, "          \
  "control_blob, cost, quota_day, "                                                            \
  "idempotency_key, attempts, created_at, started_at, finished_at, engine_detail, canny_low, " \
  "canny_high, request_hash"

Design read_design(sqlite3_stmt* st) {
  Design d;
  d.id = text_at(st, 0);
  d.owner = text_at(st, 1);
  d.room_id = opt_text(st, 2);
  d.input_blob = text_at(st, 3);
  d.input_type = text_at(st, 4);
  d.style = text_at(st, 5);
  d.room_type = text_at(st, 6);
  d.extra_prompt = text_at(st, 7);
  d.prompt = text_at(st, 8);
  d.negative_prompt = text_at(st, 9);
  d.preset_version = text_at(st, 10);
  d.strength = sqlite3_column_double(st, 11);
  d.seed = sqlite3_column_int64(st, 12);
  d.engine = text_at(st, 13);
  d.status = text_at(st, 14);
  d.error = text_at(st, 15);
  d.output_blob = opt_text(st, 16);
  d.output_type = opt_text(st, 17);
  d.control_blob = opt_text(st, 18);
  d.cost = sqlite3_column_double(st, 19);
  d.quota_day = text_at(st, 20);
  d.idempotency_key = opt_text(st, 21);
  d.attempts = sqlite3_column_int(st, 22);
  d.created_at = sqlite3_column_int64(st, 23);
  d.started_at = opt_int(st, 24);
  d.finished_at = opt_int(st, 25);
  d.engine_detail = text_at(st, 26);
  d.canny_low = opt_int(st, 27);
  d.canny_high = opt_int(st, 28);
  d.request_hash = text_at(st, 29);
  return d;
}

Room read_room(sqlite3_stmt* st) {
  return {text_at(st, 0),
          text_at(st, 1),
          text_at(st, 2),
          text_at(st, 3),
          text_at(st, 4),
          text_at(st, 5),
          sqlite3_column_int(st, 6),
          sqlite3_column_int(st, 7),
          sqlite3_column_int64(st, 8)};
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Tier tier_from(const unsigned char* s) {
  Tier t = Tier::free;
  if (s) parse_tier(reinterpret_cast<const char*>(s), &t);
  return t;
}

class Conn {
 public:
  explicit Conn(DbHandle db) : db_(std::move(db)) {}
  sqlite3* db() const { return db_.get(); }

  Status exec(const char* sql) {
    char* err = nullptr;
    int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::string msg = err ? err : sqlite3_errstr(rc);
      sqlite3_free(err);
      return error(rc, msg);
    }
    return Status::ok();
  }

  // Prepared statements are cached per connection: the hot paths (key lookup,
  // usage flush) run the same few statements. The cache is keyed by the
  // literal's address: every call site passes its own string literal.
  Result<sqlite3_stmt*> prepare(const char* sql) {
    for (auto& [text, stmt] : cache_) {
      if (text == sql) {
        sqlite3_reset(stmt.get());
        sqlite3_clear_bindings(stmt.get());
        return stmt.get();
      }
    }
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v3(db_.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    if (rc != SQLITE_OK) return error(rc, sqlite3_errmsg(db_.get()));
    cache_.emplace_back(sql, StmtHandle(raw));
    return raw;
  }

  Status error(int rc, const std::string& msg) const {
    int primary = rc & 0xff;
    if (primary == SQLITE_CONSTRAINT) return Status::already_exists(msg);
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_CANTOPEN ||
        primary == SQLITE_IOERR || primary == SQLITE_FULL) {
      return Status::unavailable("database: " + msg);
    }
    return Status::internal("database: " + msg);
  }

 private:
  DbHandle db_;
  std::vector<std::pair<const char*, StmtHandle>> cache_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, std::vector<std::unique_ptr<Conn>> conns)
      : path_(std::move(path)), free_(std::move(conns)) {}

  std::string describe() const override { return "sqlite:" + path_; }

  Result<int> migrate() override {
    Lease c(*this);
    ATELIER_RETURN_IF_ERROR(c->exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT "
        "NULL, applied_at BIGINT NOT NULL)"));
    int current = 0;
    ATELIER_ASSIGN_OR_RETURN(current, version_on(*c));
    for (const auto& m : kMigrations) {
      if (m.version <= current) continue;
      ATELIER_RETURN_IF_ERROR(c->exec("BEGIN IMMEDIATE"));
      Status st = c->exec(m.sql);
      if (st.is_ok()) {
        auto ins =
            c->prepare("INSERT INTO schema_migrations(version, name, applied_at) VALUES (?,?,?)");
        if (!ins.is_ok()) {
          st = ins.status();
        } else {
          sqlite3_bind_int(*ins, 1, m.version);
          sqlite3_bind_text(*ins, 2, m.name, -1, SQLITE_STATIC);
          sqlite3_bind_int64(*ins, 3, unix_now());
          int rc = sqlite3_step(*ins);
          if (rc != SQLITE_DONE) st = c->error(rc, sqlite3_errmsg(c->db()));
        }
      }
      if (!st.is_ok()) {
        (void)c->exec("ROLLBACK");
        return Status(st.code(), "migration " + std::to_string(m.version) + " (" + m.name +
                                     ") failed: " + st.message());
      }
      ATELIER_RETURN_IF_ERROR(c->exec("COMMIT"));
      current = m.version;
    }
    return current;
  }

  Result<int> schema_version() override {
    Lease c(*this);
    return version_on(*c);
  }

  Status ping() override {
    Lease c(*this);
    auto st = c->prepare("SELECT 1");
    if (!st.is_ok()) return st.status();
    int rc = sqlite3_step(*st);
    if (rc != SQLITE_ROW) return c->error(rc, sqlite3_errmsg(c->db()));
    return Status::ok();
  }

  Result<User> create_user(const User& u) override {
    Lease c(*this);
    auto st = c->prepare(
        "INSERT INTO users(email, password_hash, tier, role, created_at, disabled) VALUES "
        "(?,?,?,?,?,0) RETURNING id, created_at");
    if (!st.is_ok()) return st.status();
    User out = u;
    out.created_at = unix_now();
    bind_str(*st, 1, u.email);
    bind_str(*st, 2, u.password_hash);
    bind_str(*st, 3, std::string(tier_name(u.tier)));
    sqlite3_bind_text(*st, 4, u.role == Role::admin ? "admin" : "user", -1, SQLITE_STATIC);
    sqlite3_bind_int64(*st, 5, out.created_at);
    int rc = sqlite3_step(*st);
    if (rc != SQLITE_ROW) {
      Status err = c->error(rc, sqlite3_errmsg(c->db()));
      if (err.code() == Code::already_exists)
        return Status::already_exists("email already registered");
      return err;
    }
    out.id = sqlite3_column_int64(*st, 0);
    sqlite3_reset(*st);
    return out;
  }

  Result<User> find_user(std::int64_t id) override {
    Lease c(*this);
    auto st = c->prepare(
        "SELECT id, email, password_hash, tier, role, created_at, disabled, tokens_valid_after "
        "FROM "
        "users WHERE id=?");
    if (!st.is_ok()) return st.status();
    sqlite3_bind_int64(*st, 1, id);
    return read_user(*c, *st);
  }

  Result<User> find_user_by_email(const std::string& email) override {
    Lease c(*this);
    auto st = c->prepare(
        "SELECT id, email, password_hash, tier, role, created_at, disabled, tokens_valid_after "
        "FROM "
        "users WHERE email=?");
    if (!st.is_ok()) return st.status();
    bind_str(*st, 1, email);
    return read_user(*c, *st);
  }

  Status set_user_disabled(std::int64_t id, bool disabled,
                           std::int64_t tokens_valid_after) override {
    Lease c(*this);
    ATELIER_ASSIGN_OR_RETURN(
        auto st,
        c->prepare("UPDATE users SET disabled=?, tokens_valid_after=MAX(tokens_valid_after, ?) "
                   "WHERE id=?"));
    bind_all(st, disabled ? 1 : 0, tokens_valid_after, id);
    ATELIER_RETURN_IF_ERROR(run(*c, st));
    if (sqlite3_changes(c->db()) == 0) return Status::not_found("no such user");
    return Status::ok();
  }

  Status delete_user(std::int64_t id, const std::vector<std::string>& identities) override {
    Lease c(*this);
    return in_transaction(*c, [&]() -> Status {
      ATELIER_ASSIGN_OR_RETURN(auto keys, c->prepare("DELETE FROM api_keys WHERE user_id=?"));
      bind_all(keys, id);
      ATELIER_RETURN_IF_ERROR(run(*c, keys));
      ATELIER_ASSIGN_OR_RETURN(auto usage, c->prepare("DELETE FROM usage_daily WHERE identity=?"));
      for (const auto& who : identities) {
        sqlite3_reset(usage);
        bind_all(usage, who);
        ATELIER_RETURN_IF_ERROR(run(*c, usage));
      }
      ATELIER_ASSIGN_OR_RETURN(auto user, c->prepare("DELETE FROM users WHERE id=?"));
      bind_all(user, id);
      return run(*c, user);
    });
  }

  Result<ApiKey> create_api_key(const ApiKey& k) override {
    Lease c(*this);
    auto st = c->prepare(
        "INSERT INTO api_keys(user_id, name, prefix, hash, tier, created_at) VALUES (?,?,?,?,?,?) "
        "RETURNING id");
    if (!st.is_ok()) return st.status();
    ApiKey out = k;
    out.created_at = unix_now();
    if (k.user_id) {
      sqlite3_bind_int64(*st, 1, *k.user_id);
    } else {
      sqlite3_bind_null(*st, 1);
    }
    bind_str(*st, 2, k.name);
    bind_str(*st, 3, k.prefix);
    bind_str(*st, 4, k.hash);
    bind_str(*st, 5, std::string(tier_name(k.tier)));
    sqlite3_bind_int64(*st, 6, out.created_at);
    int rc = sqlite3_step(*st);
    if (rc != SQLITE_ROW) return c->error(rc, sqlite3_errmsg(c->db()));
    out.id = sqlite3_column_int64(*st, 0);
    sqlite3_reset(*st);
    return out;
  }

  Result<ApiKey> find_api_key_by_hash(const std::string& hash) override {
    Lease c(*this);
    auto st = c->prepare(ATELIER_KEY_SELECT " WHERE hash=?");
    if (!st.is_ok()) return st.status();
    bind_str(*st, 1, hash);
    int rc = sqlite3_step(*st);
    if (rc == SQLITE_DONE) return Status::not_found("no such API key");
    if (rc != SQLITE_ROW) return c->error(rc, sqlite3_errmsg(c->db()));
    ApiKey k = read_key(*st);
    sqlite3_reset(*st);
    return k;
  }

  Result<std::vector<ApiKey>> list_api_keys() override {
    Lease c(*this);
    auto st = c->prepare(ATELIER_KEY_SELECT " ORDER BY id");
    if (!st.is_ok()) return st.status();
    std::vector<ApiKey> out;
    int rc;
    while ((rc = sqlite3_step(*st)) == SQLITE_ROW) out.push_back(read_key(*st));
    if (rc != SQLITE_DONE) return c->error(rc, sqlite3_errmsg(c->db()));
    return out;
  }

  Status revoke_api_key(std::int64_t id) override {
    Lease c(*this);
    auto st = c->prepare("UPDATE api_keys SET revoked_at=? WHERE id=? AND revoked_at IS NULL");
    if (!st.is_ok()) return st.status();
    sqlite3_bind_int64(*st, 1, unix_now());
    sqlite3_bind_int64(*st, 2, id);
    int rc = sqlite3_step(*st);
    if (rc != SQLITE_DONE) return c->error(rc, sqlite3_errmsg(c->db()));
    if (sqlite3_changes(c->db()) == 0)
      return Status::not_found("no active API key with id " + std::to_string(id));
    return Status::ok();
  }

  Status add_usage(const std::vector<UsageDelta>& deltas) override {
    if (deltas.empty()) return Status::ok();
    Lease c(*this);
    ATELIER_RETURN_IF_ERROR(c->exec("BEGIN IMMEDIATE"));
    for (const auto& d : deltas) {
      auto st = c->prepare(
          "INSERT INTO usage_daily(identity, day, units, requests) VALUES (?,?,?,?) "
          "ON CONFLICT(identity, day) DO UPDATE SET units = usage_daily.units + excluded.units, "
          "requests = usage_daily.requests + excluded.requests");
      if (!st.is_ok()) {
        (void)c->exec("ROLLBACK");
        return st.status();
      }
      bind_str(*st, 1, d.identity);
      bind_str(*st, 2, d.day);
      sqlite3_bind_int64(*st, 3, d.units);
      sqlite3_bind_int64(*st, 4, d.requests);
      int rc = sqlite3_step(*st);
      if (rc != SQLITE_DONE) {
        Status err = c->error(rc, sqlite3_errmsg(c->db()));
        (void)c->exec("ROLLBACK");
        return err;
      }
    }
    return c->exec("COMMIT");
  }

  Result<Usage> get_usage(const std::string& identity, const std::string& day) override {
    Lease c(*this);
    auto st = c->prepare("SELECT units, requests FROM usage_daily WHERE identity=? AND day=?");
    if (!st.is_ok()) return st.status();
    bind_str(*st, 1, identity);
    bind_str(*st, 2, day);
    int rc = sqlite3_step(*st);
    Usage u;
    if (rc == SQLITE_ROW) {
      u.units = sqlite3_column_int64(*st, 0);
      u.requests = sqlite3_column_int64(*st, 1);
      sqlite3_reset(*st);
    } else if (rc != SQLITE_DONE) {
      return c->error(rc, sqlite3_errmsg(c->db()));
    }
    return u;
  }

 private:
  Result<Collection> create_collection(const std::string& name, const std::string& owner,
                                       const std::string& model, int dimensions,
                                       const std::string& visibility) override {
    Lease c(*this);
    auto st = c->prepare(
        "INSERT INTO collections(name, owner, model, dimensions, created_at, visibility) VALUES "
        "(?,?,?,?,?,?) RETURNING id");
    if (!st.is_ok()) return st.status();
    Collection col{0, name, owner, model, dimensions, unix_now(), 0, 0, visibility};
    bind_str(*st, 6, visibility);
    bind_str(*st, 1, name);
    bind_str(*st, 2, owner);
    bind_str(*st, 3, model);
    sqlite3_bind_int(*st, 4, dimensions);
    sqlite3_bind_int64(*st, 5, col.created_at);
    int rc = sqlite3_step(*st);
    if (rc != SQLITE_ROW) {
      Status err = c->error(rc, sqlite3_errmsg(c->db()));
      if (err.code() == Code::already_exists)
        return Status::already_exists("collection '" + name + "' exists");
      return err;
    }
    col.id = sqlite3_column_int64(*st, 0);
    sqlite3_reset(*st);
    return col;
  }

  Result<Collection> find_collection(const std::string& name) override {
    Lease c(*this);
    auto st = c->prepare(ATELIER_COLLECTION_SELECT " WHERE c.name=?");
    if (!st.is_ok()) return st.status();
    bind_str(*st, 1, name);
    int rc = sqlite3_step(*st);
    if (rc == SQLITE_DONE) return Status::not_found("no collection '" + name + "'");
    if (rc != SQLITE_ROW) return c->error(rc, sqlite3_errmsg(c->db()));
    Collection col = read_collection(*st);
    sqlite3_reset(*st);
    return col;
  }

  Result<std::vector<Collection>> list_collections() override {
    Lease c(*this);
    auto st = c->prepare(ATELIER_COLLECTION_SELECT " ORDER BY c.name");
    if (!st.is_ok()) return st.status();
    std::vector<Collection> out;
    int rc;
    while ((rc = sqlite3_step(*st)) == SQLITE_ROW) out.push_back(read_collection(*st));
    if (rc != SQLITE_DONE) return c->error(rc, sqlite3_errmsg(c->db()));
    return out;
  }

  Status delete_collection(std::int64_t id) override {
    Lease c(*this);
    return in_transaction(*c, [&]() -> Status {
      ATELIER_ASSIGN_OR_RETURN(auto docs,
                               c->prepare("DELETE FROM documents WHERE collection_id=?"));
      bind_all(docs, id);
      ATELIER_RETURN_IF_ERROR(run(*c, docs));
      ATELIER_ASSIGN_OR_RETURN(auto col, c->prepare("DELETE FROM collections WHERE id=?"));
      bind_all(col, id);
      return run(*c, col);
    });
  }

  Result<UpsertCounts> upsert_documents(std::int64_t collection_id,
                                        const std::vector<DocumentRecord>& docs) override {
    Lease c(*this);
    ATELIER_RETURN_IF_ERROR(c->exec("BEGIN IMMEDIATE"));
    UpsertCounts counts;
    Status st = [&]() -> Status {
      for (const auto& d : docs) {
        ATELIER_ASSIGN_OR_RETURN(std::int64_t row, document_row(*c, collection_id, d.id));
        int rc;
        if (row != 0) {
          ATELIER_ASSIGN_OR_RETURN(
              auto upd, c->prepare("UPDATE documents SET text=?, metadata=?, vector=? WHERE id=?"));
          bind_doc(upd, d, 1);
          sqlite3_bind_int64(upd, 4, row);
          if ((rc = sqlite3_step(upd)) != SQLITE_DONE) return c->error(rc, sqlite3_errmsg(c->db()));
          ++counts.updated;
        } else {
          ATELIER_ASSIGN_OR_RETURN(auto ins,
                                   c->prepare("INSERT INTO documents(text, metadata, vector, "
                                              "collection_id, doc_id) VALUES (?,?,?,?,?)"));
          bind_doc(ins, d, 1);
          sqlite3_bind_int64(ins, 4, collection_id);
          bind_str(ins, 5, d.id);
          if ((rc = sqlite3_step(ins)) != SQLITE_DONE) return c->error(rc, sqlite3_errmsg(c->db()));
          ++counts.inserted;
        }
      }
      return bump_version(*c, collection_id);
    }();
    if (!st.is_ok()) {
      (void)c->exec("ROLLBACK");
      return st;
    }
    ATELIER_RETURN_IF_ERROR(c->exec("COMMIT"));
    return counts;
  }

  Status delete_document(std::int64_t collection_id, const std::string& id) override {
    Lease c(*this);
    ATELIER_RETURN_IF_ERROR(c->exec("BEGIN IMMEDIATE"));
    Status st = [&]() -> Status {
      ATELIER_ASSIGN_OR_RETURN(std::int64_t row, document_row(*c, collection_id, id));
      if (row == 0) return Status::not_found("no document '" + id + "'");
      int rc;
      ATELIER_ASSIGN_OR_RETURN(auto rm, c->prepare("DELETE FROM documents WHERE id=?"));
      sqlite3_bind_int64(rm, 1, row);
      if ((rc = sqlite3_step(rm)) != SQLITE_DONE) return c->error(rc, sqlite3_errmsg(c->db()));
      return bump_version(*c, collection_id);
    }();
    if (!st.is_ok()) {
      (void)c->exec("ROLLBACK");
      return st;
    }
    return c->exec("COMMIT");
  }

  Status scan_documents(std::int64_t collection_id,
                        const std::function<void(const DocumentRecord&)>& f) override {
    Lease c(*this);
    auto st =
        c->prepare("SELECT doc_id, metadata, vector, text FROM documents WHERE collection_id=?");
    if (!st.is_ok()) return st.status();
    sqlite3_bind_int64(*st, 1, collection_id);
    int rc;
    DocumentRecord d;
    while ((rc = sqlite3_step(*st)) == SQLITE_ROW) {
      d.id = text_at(*st, 0);
      d.metadata_json = text_at(*st, 1);
      read_vector(*st, 2, &d.vector);
      d.text = text_at(*st, 3);
      f(d);
    }
    if (rc != SQLITE_DONE) return c->error(rc, sqlite3_errmsg(c->db()));
    return Status::ok();
  }

  Result<DocumentRecord> get_document(std::int64_t collection_id, const std::string& id) override {
    Lease c(*this);
    auto st = c->prepare(
        "SELECT doc_id, text, metadata, vector FROM documents WHERE collection_id=? AND doc_id=?");
    if (!st.is_ok()) return st.status();
    sqlite3_bind_int64(*st, 1, collection_id);
    bind_str(*st, 2, id);
    int rc = sqlite3_step(*st);
    if (rc == SQLITE_DONE) return Status::not_found("no document '" + id + "'");
    if (rc != SQLITE_ROW) return c->error(rc, sqlite3_errmsg(c->db()));
    DocumentRecord d{text_at(*st, 0), text_at(*st, 1), text_at(*st, 2), {}};
    read_vector(*st, 3, &d.vector);
    sqlite3_reset(*st);
    return d;
  }

 private:
  // The row id of (collection, doc_id), or 0 when there is no such document.
  static Result<std::int64_t> document_row(Conn& c, std::int64_t collection_id,
                                           const std::string& id) {
    ATELIER_ASSIGN_OR_RETURN(
        auto find, c.prepare("SELECT id FROM documents WHERE collection_id=? AND doc_id=?"));
    sqlite3_bind_int64(find, 1, collection_id);
    bind_str(find, 2, id);
    int rc = sqlite3_step(find);
    if (rc == SQLITE_DONE) {
      sqlite3_reset(find);
      return std::int64_t{0};
    }
    if (rc != SQLITE_ROW) return c.error(rc, sqlite3_errmsg(c.db()));
    const std::int64_t row = sqlite3_column_int64(find, 0);
    sqlite3_reset(find);
    return row;
  }

  static void bind_doc(sqlite3_stmt* st, const DocumentRecord& d, int first) {
    bind_str(st, first, d.text);
    bind_str(st, first + 1, d.metadata_json);
    if (d.vector.empty()) {
      sqlite3_bind_null(st, first + 2);
    } else {
      sqlite3_bind_blob(st, first + 2, d.vector.data(),
                        static_cast<int>(d.vector.size() * sizeof(float)), SQLITE_TRANSIENT);
    }
  }
  static void read_vector(sqlite3_stmt* st, int col, std::vector<float>* out) {
    const int bytes = sqlite3_column_bytes(st, col);
    out->resize(static_cast<std::size_t>(bytes) / sizeof(float));
    if (bytes > 0)
      std::memcpy(out->data(), sqlite3_column_blob(st, col), out->size() * sizeof(float));
  }
  // ---- design studio ----

  // Runs a prepared statement to completion, collecting rows with `read`.
  template <class T, class Read>
  Result<std::vector<T>> rows(Conn& c, sqlite3_stmt* st, Read read) {
    std::vector<T> out;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) out.push_back(read(st));
    if (rc != SQLITE_DONE) return c.error(rc, sqlite3_errmsg(c.db()));
    sqlite3_reset(st);
    return out;
  }
  // Runs `body` inside BEGIN IMMEDIATE ... COMMIT, rolling back when it fails.
  static Status in_transaction(Conn& c, const std::function<Status()>& body) {
    ATELIER_RETURN_IF_ERROR(c.exec("BEGIN IMMEDIATE"));
    Status s = body();
    if (!s.is_ok()) {
      (void)c.exec("ROLLBACK");
      return s;
    }
    return c.exec("COMMIT");
  }

  Status run(Conn& c, sqlite3_stmt* st) {
    const int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return c.error(rc, sqlite3_errmsg(c.db()));
    return Status::ok();
  }

  Result<Room> create_room(const Room& r) override {
    Lease c(*this);
    ATELIER_ASSIGN_OR_RETURN(
        auto st, c->prepare("INSERT INTO rooms(id, owner, name, room_type, blob, content_type, "
                            "width, height, created_at) VALUES (?,?,?,?,?,?,?,?,?)"));
    bind_all(st, r.id, r.owner, r.name, r.room_type, r.blob, r.content_type, r.width, r.height,
             r.created_at);
    ATELIER_RETURN_IF_ERROR(run(*c, st));
    return r;
  }
  Result<Room> find_room(const std::string& owner, const std::string& id) override {
    Lease c(*this);
    ATELIER_ASSIGN_OR_RETURN(
        auto st, c->prepare("SELECT id, owner, name, room_type, blob, content_type, width, height, "
                            "created_at FROM rooms WHERE owner=? AND id=?"));
    bind_all(st, owner, id);
    ATELIER_ASSIGN_OR_RETURN(auto found, rows<Room>(*c, st, read_room));
    if (found.empty()) return Status::not_found("no room '" + id + "'");
    return found[0];
  }
  Result<std::vector<Room>> list_rooms(const std::string& owner) override {
    Lease c(*this);
    ATELIER_ASSIGN_OR_RETURN(
        auto st,
        c->prepare("SELECT id, owner, name, room_type, blob, content_type, width, height, "
                   "created_at FROM rooms WHERE owner=? ORDER BY created_at DESC, id DESC"));
    bind_all(st, owner);
    return rows<Room>(*c, st, read_room);
  }
  Status delete_room(const std::string& owner, const std::string& id) override {
    Lease c(*this);
    ATELIER_ASSIGN_OR_RETURN(auto st, c->prepare("DELETE FROM rooms WHERE owner=? AND id=?"));
    bind_all(st, owner, id);
    ATELIER_RETURN_IF_ERROR(run(*c, st));
    if (sqlite3_changes(c->db()) == 0) return Status::not_found("no room '" + id + "'");
    return Status::ok();
  }
  Result<Design> create_design(const Design& d) override {
    Lease c(*this);
    ATELIER_ASSIGN_OR_RETURN(
        auto st,
        c->prepare("INSERT INTO designs(" ATELIER_DESIGN_COLUMNS
                   ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
    bind_all(st, d.id, d.owner, d.room_id, d.input_blob, d.input_type, d.style, d.room_type,
             d.extra_prompt, d.prompt, d.negative_prompt, d.preset_version, d.strength, d.seed,
             d.engine, d.status, d.error, d.output_blob, d.output_type, d.control_blob, d.cost,
             d.quota_day, d.idempotency_key, d.attempts, d.created_at, d.started_at, d.finished_at,
             d.engine_detail, d.canny_low, d.canny_high, d.request_hash);
    Status s = run(*c, st);
    if (!s.is_ok() && s.code() == Code::already_exists)
      return Status::already_exists("a design with this Idempotency-Key exists");
    ATELIER_RETURN_IF_ERROR(s);
    return d;
  }
  Result<Design> find_design(const std::string& owner, const std::string& id) override {
    Lease c(*this);
    ATELIER_ASSIGN_OR_RETURN(auto st, c->prepare("SELECT " ATELIER_DESIGN_COLUMNS
                                                 " FROM designs WHERE owner=? AND id=?"));
    bind_all(st, owner, id);
    ATELIER_ASSIGN_OR_RETURN(auto found, rows<Design>(*c, st, read_design));
    if (found.empty()) return Status::not_found("no design '" + id + "'");
    return found[0];
  }
  Result<Design> find_design_by_key(const std::string& owner, const std::string& key) override {
    Lease c(*this);
    ATELIER_ASSIGN_OR_RETURN(auto st,
                             c->prepare("SELECT " ATELIER_DESIGN_COLUMNS
                                        " FROM designs WHERE owner=? AND idempotency_key=?"));
    bind_all(st, owner, key);
    ATELIER_ASSIGN_OR_RETURN(auto found, rows<Design>(*c, st, read_design));
    if (found.empty()) return Status::not_found("no design for this Idempotency-Key");
    return found[0];
  }
  Result<DesignPage> list_designs(const std::string& owner,
                                  const std::optional<std::string>& room_id, int limit,
                                  const std::optional<std::string>& cursor) override {
    // Keyset pagination on (created_at, id): stable while rows are added.
    std::int64_t before_ts = std::numeric_limits<std::int64_t>::max();
    std::string before_id = "\x7f";
    if (cursor) {
      const auto dot = cursor->find('.');
      if (dot == std::string::npos) return Status::invalid_argument("malformed cursor");
      try {
        before_ts = std::stoll(cursor->substr(0, dot));
      } catch (...) {
        return Status::invalid_argument("malformed cursor");
      }
      before_id = cursor->substr(dot + 1);
    }
    Lease c(*this);
    ATELIER_ASSIGN_OR_RETURN(
        auto st, c->prepare("SELECT " ATELIER_DESIGN_COLUMNS
                            " FROM designs WHERE owner=?1 AND (?2 IS NULL OR room_id=?2) AND "
                            "(created_at < ?3 OR (created_at = ?3 AND id < ?4)) "
                            "ORDER BY created_at DESC, id DESC LIMIT ?5"));
    bind_all(st, owner, room_id, before_ts, before_id, limit + 1);
    ATELIER_ASSIGN_OR_RETURN(auto found, rows<Design>(*c, st, read_design));
    DesignPage page;
    if (static_cast<int>(found.size()) > limit) {
      found.resize(static_cast<std::size_t>(limit));
      page.next_cursor = std::to_string(found.back().created_at) + "." + found.back().id;
    }
    page.items = std::move(found);
    return page;
  }
  Result<bool> update_design(const Design& d,
                             const std::optional<std::string>& only_if_status) override {
    Lease c(*this);
    ATELIER_ASSIGN_OR_RETURN(
        auto st,
        c->prepare("UPDATE designs SET status=?1, error=?2, output_blob=?3, output_type=?4, "
                   "control_blob=?5, cost=?6, attempts=?7, started_at=?8, finished_at=?9, "
                   "engine_detail=?10 WHERE id=?11 AND (?12 IS NULL OR status=?12)"));
    bind_all(st, d.status, d.error, d.output_blob, d.output_type, d.control_blob, d.cost,
             d.attempts, d.started_at, d.finished_at, d.engine_detail, d.id, only_if_status);
    ATELIER_RETURN_IF_ERROR(run(*c, st));
    return sqlite3_changes(c->db()) > 0;
  }
  Result<std::vector<Design>> designs_with_status(
      const std::vector<std::string>& statuses) override {
    std::vector<Design> out;
    Lease c(*this);
    for (const auto& s : statuses) {
      ATELIER_ASSIGN_OR_RETURN(auto st,
                               c->prepare("SELECT " ATELIER_DESIGN_COLUMNS
                                          " FROM designs WHERE status=? ORDER BY created_at, id"));
      bind_all(st, s);
      ATELIER_ASSIGN_OR_RETURN(auto found, rows<Design>(*c, st, read_design));
      out.insert(out.end(), found.begin(), found.end());
    }
    return out;
  }
  Status delete_design(const std::string& owner, const std::string& id) override {
    Lease c(*this);
    ATELIER_ASSIGN_OR_RETURN(auto st, c->prepare("DELETE FROM designs WHERE owner=? AND id=?"));
    bind_all(st, owner, id);
    ATELIER_RETURN_IF_ERROR(run(*c, st));
    if (sqlite3_changes(c->db()) == 0) return Status::not_found("no design '" + id + "'");
    return Status::ok();
  }
  Result<std::vector<std::pair<std::string, std::string>>> designs_before(
      std::int64_t ms) override {
    Lease c(*this);
    ATELIER_ASSIGN_OR_RETURN(
        auto st, c->prepare("SELECT owner, id FROM designs WHERE created_at < ? AND status NOT IN "
                            "('queued', 'running')"));
    bind_all(st, ms);
    return rows<std::pair<std::string, std::string>>(
        *c, st, [](sqlite3_stmt* s) { return std::make_pair(text_at(s, 0), text_at(s, 1)); });
  }
  Result<double> design_spend(const std::string& owner, std::int64_t since_ms) override {
    Lease c(*this);
    ATELIER_ASSIGN_OR_RETURN(
        auto st, c->prepare("SELECT COALESCE(SUM(cost), 0) FROM designs WHERE status='succeeded' "
                            "AND created_at >= ?1 AND (?2 = '' OR owner = ?2)"));
    bind_all(st, since_ms, owner);
    ATELIER_ASSIGN_OR_RETURN(
        auto v, rows<double>(*c, st, [](sqlite3_stmt* s) { return sqlite3_column_double(s, 0); }));
    return v.empty() ? 0.0 : v[0];
  }
  Status delete_design_data(const std::string& owner) override {
    Lease c(*this);
    return in_transaction(*c, [&]() -> Status {
      ATELIER_ASSIGN_OR_RETURN(auto d, c->prepare("DELETE FROM designs WHERE owner=?"));
      bind_all(d, owner);
      ATELIER_RETURN_IF_ERROR(run(*c, d));
      ATELIER_ASSIGN_OR_RETURN(auto r, c->prepare("DELETE FROM rooms WHERE owner=?"));
      bind_all(r, owner);
      return run(*c, r);
    });
  }
  Result<std::vector<std::string>> referenced_blobs() override {
    Lease c(*this);
    ATELIER_ASSIGN_OR_RETURN(
        auto st,
        c->prepare("SELECT blob FROM rooms UNION SELECT input_blob FROM designs UNION SELECT "
                   "output_blob FROM designs WHERE output_blob IS NOT NULL UNION SELECT "
                   "control_blob FROM designs WHERE control_blob IS NOT NULL"));
    return rows<std::string>(*c, st, [](sqlite3_stmt* s) { return text_at(s, 0); });
  }

  template <class Conn>
  static Status bump_version(Conn& c, std::int64_t collection_id) {
    ATELIER_ASSIGN_OR_RETURN(auto up,
                             c.prepare("UPDATE collections SET version = version + 1 WHERE id=?"));
    sqlite3_bind_int64(up, 1, collection_id);
    const int rc = sqlite3_step(up);
    if (rc != SQLITE_DONE) return c.error(rc, sqlite3_errmsg(c.db()));
    return Status::ok();
  }

  static Collection read_collection(sqlite3_stmt* st) {
    return {sqlite3_column_int64(st, 0),
            text_at(st, 1),
            text_at(st, 2),
            text_at(st, 3),
            sqlite3_column_int(st, 4),
            sqlite3_column_int64(st, 5),
            sqlite3_column_int64(st, 6),
            sqlite3_column_int64(st, 7),
            text_at(st, 8)};
  }

  // Borrows a connection for the scope of one call.
  class Lease {
   public:
    explicit Lease(SqliteStore& s) : s_(s) {
      std::unique_lock lock(s_.mu_);
      s_.cv_.wait(lock, [&] { return !s_.free_.empty(); });
      c_ = std::move(s_.free_.back());
      s_.free_.pop_back();
    }
    ~Lease() {
      {
        std::lock_guard lock(s_.mu_);
        s_.free_.push_back(std::move(c_));
      }
      s_.cv_.notify_one();
    }
    Conn* operator->() { return c_.get(); }
    Conn& operator*() { return *c_; }

   private:
    SqliteStore& s_;
    std::unique_ptr<Conn> c_;
  };

  static Result<int> version_on(Conn& c) {
    auto st = c.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    if (!st.is_ok()) return st.status();
    int rc = sqlite3_step(*st);
    if (rc != SQLITE_ROW) return c.error(rc, sqlite3_errmsg(c.db()));
    int v = sqlite3_column_int(*st, 0);
    sqlite3_reset(*st);
    return v;
  }

  static Result<User> read_user(Conn& c, sqlite3_stmt* st) {
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) return Status::not_found("no such user");
    if (rc != SQLITE_ROW) return c.error(rc, sqlite3_errmsg(c.db()));
    User u;
    u.id = sqlite3_column_int64(st, 0);
    u.email = text_at(st, 1);
    u.password_hash = text_at(st, 2);
    u.tier = tier_from(sqlite3_column_text(st, 3));
    u.role = text_at(st, 4) == "admin" ? Role::admin : Role::user;
    u.created_at = sqlite3_column_int64(st, 5);
    u.disabled = sqlite3_column_int(st, 6) != 0;
    u.tokens_valid_after = sqlite3_column_int64(st, 7);
    sqlite3_reset(st);
    return u;
  }

  static ApiKey read_key(sqlite3_stmt* st) {
    ApiKey k;
    k.id = sqlite3_column_int64(st, 0);
    if (sqlite3_column_type(st, 1) != SQLITE_NULL) k.user_id = sqlite3_column_int64(st, 1);
    k.name = text_at(st, 2);
    k.prefix = text_at(st, 3);
    k.hash = text_at(st, 4);
    k.tier = tier_from(sqlite3_column_text(st, 5));
    k.created_at = sqlite3_column_int64(st, 6);
    if (sqlite3_column_type(st, 7) != SQLITE_NULL) k.revoked_at = sqlite3_column_int64(st, 7);
    return k;
  }

  std::string path_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> free_;  // guarded by mu_
};

Result<std::unique_ptr<Conn>> open_conn(const std::string& path) {
  sqlite3* raw = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &raw,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbHandle db(raw);
  if (rc != SQLITE_OK) {
    return Status::unavailable("cannot open database " + path + ": " +
                               (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  auto conn = std::make_unique<Conn>(std::move(db));
  sqlite3_busy_timeout(conn->db(), 5000);
  ATELIER_RETURN_IF_ERROR(
      conn->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
  return conn;
}

}  // namespace

Result<StorePtr> open_sqlite_store(const std::string& path, int pool_size) {
  if (pool_size < 1) pool_size = 1;
  std::vector<std::unique_ptr<Conn>> conns;
  for (int i = 0; i < pool_size; ++i) {
    auto c = open_conn(path);
    if (!c.is_ok()) return c.status();
    conns.push_back(std::move(c).value());
  }
  return StorePtr(std::make_unique<SqliteStore>(path, std::move(conns)));
}

}  // namespace atelier
