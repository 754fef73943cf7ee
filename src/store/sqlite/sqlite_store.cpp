#include "store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <chrono>
#include <cstring>
#include <condition_variable>
#include <mutex>
#include <vector>

namespace atelier {
namespace {

#define ATELIER_COLLECTION_SELECT                                                                  \
  "SELECT c.id, c.name, c.owner, c.model, c.dimensions, c.created_at, (SELECT COUNT(*) FROM documents d WHERE " \
  "d.collection_id = c.id), c.version FROM collections c"
#define ATELIER_TEXT_SEARCH                                                                            \
  "SELECT d.doc_id, -bm25(documents_fts) FROM "                                                        \
  "documents_fts JOIN documents d ON d.id = documents_fts.rowid WHERE documents_fts MATCH ?1 AND "      \
  "d.collection_id = ?2"
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
};

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

std::string text_at(sqlite3_stmt* st, int col) {
  auto* p = sqlite3_column_text(st, col);
  return p ? std::string(reinterpret_cast<const char*>(p)) : std::string();
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
        auto ins = c->prepare("INSERT INTO schema_migrations(version, name, applied_at) VALUES (?,?,?)");
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
    sqlite3_bind_text(*st, 1, u.email.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(*st, 2, u.password_hash.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(*st, 3, std::string(tier_name(u.tier)).c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(*st, 4, u.role == Role::admin ? "admin" : "user", -1, SQLITE_STATIC);
    sqlite3_bind_int64(*st, 5, out.created_at);
    int rc = sqlite3_step(*st);
    if (rc != SQLITE_ROW) {
      Status err = c->error(rc, sqlite3_errmsg(c->db()));
      if (err.code() == Code::already_exists) return Status::already_exists("email already registered");
      return err;
    }
    out.id = sqlite3_column_int64(*st, 0);
    sqlite3_reset(*st);
    return out;
  }

  Result<User> find_user(std::int64_t id) override {
    Lease c(*this);
    auto st = c->prepare(
        "SELECT id, email, password_hash, tier, role, created_at, disabled FROM users WHERE id=?");
    if (!st.is_ok()) return st.status();
    sqlite3_bind_int64(*st, 1, id);
    return read_user(*c, *st);
  }

  Result<User> find_user_by_email(const std::string& email) override {
    Lease c(*this);
    auto st = c->prepare(
        "SELECT id, email, password_hash, tier, role, created_at, disabled FROM users WHERE "
        "email=?");
    if (!st.is_ok()) return st.status();
    sqlite3_bind_text(*st, 1, email.c_str(), -1, SQLITE_TRANSIENT);
    return read_user(*c, *st);
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
    sqlite3_bind_text(*st, 2, k.name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(*st, 3, k.prefix.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(*st, 4, k.hash.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(*st, 5, std::string(tier_name(k.tier)).c_str(), -1, SQLITE_TRANSIENT);
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
    sqlite3_bind_text(*st, 1, hash.c_str(), -1, SQLITE_TRANSIENT);
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
    if (sqlite3_changes(c->db()) == 0) return Status::not_found("no active API key with id " + std::to_string(id));
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
      sqlite3_bind_text(*st, 1, d.identity.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(*st, 2, d.day.c_str(), -1, SQLITE_TRANSIENT);
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
    sqlite3_bind_text(*st, 1, identity.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(*st, 2, day.c_str(), -1, SQLITE_TRANSIENT);
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
  Result<Collection> create_collection(const std::string& name, const std::string& owner, const std::string& model,
                                       int dimensions) override {
    Lease c(*this);
    auto st = c->prepare(
        "INSERT INTO collections(name, owner, model, dimensions, created_at) VALUES (?,?,?,?,?) RETURNING id");
    if (!st.is_ok()) return st.status();
    Collection col{0, name, owner, model, dimensions, unix_now(), 0};
    sqlite3_bind_text(*st, 1, name.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(*st, 2, owner.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(*st, 3, model.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(*st, 4, dimensions);
    sqlite3_bind_int64(*st, 5, col.created_at);
    int rc = sqlite3_step(*st);
    if (rc != SQLITE_ROW) {
      Status err = c->error(rc, sqlite3_errmsg(c->db()));
      if (err.code() == Code::already_exists) return Status::already_exists("collection '" + name + "' exists");
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
    sqlite3_bind_text(*st, 1, name.c_str(), -1, SQLITE_TRANSIENT);
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

  Result<UpsertCounts> upsert_documents(std::int64_t collection_id, const std::vector<DocumentRecord>& docs) override {
    Lease c(*this);
    ATELIER_RETURN_IF_ERROR(c->exec("BEGIN IMMEDIATE"));
    UpsertCounts counts;
    Status st = [&]() -> Status {
      for (const auto& d : docs) {
        ATELIER_ASSIGN_OR_RETURN(std::int64_t row, unindex_document(*c, collection_id, d.id));
        int rc;
        if (row != 0) {
          ATELIER_ASSIGN_OR_RETURN(auto upd, c->prepare("UPDATE documents SET text=?, metadata=?, vector=? WHERE id=?"));
          bind_doc(upd, d, 1);
          sqlite3_bind_int64(upd, 4, row);
          if ((rc = sqlite3_step(upd)) != SQLITE_DONE) return c->error(rc, sqlite3_errmsg(c->db()));
          ++counts.updated;
        } else {
          // Each collection owns the rowid range [id << 40, (id + 1) << 40): FTS5
          // can then restrict a MATCH to one collection by rowid range alone.
          ATELIER_ASSIGN_OR_RETURN(auto ins, c->prepare(
              "INSERT INTO documents(text, metadata, vector, collection_id, doc_id, id) VALUES (?,?,?,?,?, "
              "(SELECT COALESCE(MAX(id), ?6) + 1 FROM documents WHERE id >= ?6 AND id < ?7)) RETURNING id"));
          bind_doc(ins, d, 1);
          sqlite3_bind_int64(ins, 4, collection_id);
          sqlite3_bind_text(ins, 5, d.id.c_str(), -1, SQLITE_TRANSIENT);
          sqlite3_bind_int64(ins, 6, range_start(collection_id));
          sqlite3_bind_int64(ins, 7, range_start(collection_id + 1));
          if ((rc = sqlite3_step(ins)) != SQLITE_ROW) return c->error(rc, sqlite3_errmsg(c->db()));
          row = sqlite3_column_int64(ins, 0);
          sqlite3_reset(ins);
          ++counts.inserted;
        }
        ATELIER_ASSIGN_OR_RETURN(auto fts, c->prepare("INSERT INTO documents_fts(rowid, text) VALUES (?, ?)"));
        sqlite3_bind_int64(fts, 1, row);
        sqlite3_bind_text(fts, 2, d.text.c_str(), -1, SQLITE_TRANSIENT);
        if ((rc = sqlite3_step(fts)) != SQLITE_DONE) return c->error(rc, sqlite3_errmsg(c->db()));
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
      ATELIER_ASSIGN_OR_RETURN(std::int64_t row, unindex_document(*c, collection_id, id));
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

  Result<std::vector<TextHit>> search_text(std::int64_t collection_id, const std::string& match, int k,
                                           const std::optional<MetadataFilter>& filter) override {
    Lease c(*this);
    // Unfiltered: rank inside the collection's rowid range, then look up only
    // the top k documents. Filtered: the metadata test needs every match's
    // row, so the join comes first.
    auto st = filter ? c->prepare(ATELIER_TEXT_SEARCH
                                  " AND CAST(json_extract(d.metadata, ?4) AS TEXT) = ?5 ORDER BY bm25(documents_fts) LIMIT ?3")
                     : c->prepare(
                           "SELECT d.doc_id, f.score FROM (SELECT rowid AS rid, -bm25(documents_fts) AS score FROM "
                           "documents_fts WHERE documents_fts MATCH ?1 AND rowid >= ?6 AND rowid < ?7 ORDER BY "
                           "bm25(documents_fts) LIMIT ?3) f JOIN documents d ON d.id = f.rid WHERE d.collection_id = ?2 "
                           "ORDER BY f.score DESC");
    if (!st.is_ok()) return st.status();
    sqlite3_bind_text(*st, 1, match.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(*st, 2, collection_id);
    sqlite3_bind_int(*st, 3, k);
    if (!filter) {
      sqlite3_bind_int64(*st, 6, range_start(collection_id));
      sqlite3_bind_int64(*st, 7, range_start(collection_id + 1));
    }
    if (filter) {
      const std::string path = "$." + filter->key;
      sqlite3_bind_text(*st, 4, path.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_text(*st, 5, filter->value.c_str(), -1, SQLITE_TRANSIENT);
    }
    std::vector<TextHit> out;
    int rc;
    while ((rc = sqlite3_step(*st)) == SQLITE_ROW) {
      out.push_back({text_at(*st, 0), sqlite3_column_double(*st, 1)});
    }
    if (rc != SQLITE_DONE) {
      Status err = c->error(rc, sqlite3_errmsg(c->db()));
      sqlite3_reset(*st);
      if (std::string(sqlite3_errmsg(c->db())).find("fts5") != std::string::npos) {
        return Status::invalid_argument("query cannot be searched: " + err.message());
      }
      return err;
    }
    return out;
  }

  Status scan_documents(std::int64_t collection_id, const std::function<void(const DocumentRecord&)>& f) override {
    Lease c(*this);
    auto st = c->prepare("SELECT doc_id, metadata, vector FROM documents WHERE collection_id=?");
    if (!st.is_ok()) return st.status();
    sqlite3_bind_int64(*st, 1, collection_id);
    int rc;
    DocumentRecord d;
    while ((rc = sqlite3_step(*st)) == SQLITE_ROW) {
      d.id = text_at(*st, 0);
      d.metadata_json = text_at(*st, 1);
      read_vector(*st, 2, &d.vector);
      f(d);
    }
    if (rc != SQLITE_DONE) return c->error(rc, sqlite3_errmsg(c->db()));
    return Status::ok();
  }

  Result<DocumentRecord> get_document(std::int64_t collection_id, const std::string& id) override {
    Lease c(*this);
    auto st = c->prepare("SELECT doc_id, text, metadata, vector FROM documents WHERE collection_id=? AND doc_id=?");
    if (!st.is_ok()) return st.status();
    sqlite3_bind_int64(*st, 1, collection_id);
    sqlite3_bind_text(*st, 2, id.c_str(), -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(*st);
    if (rc == SQLITE_DONE) return Status::not_found("no document '" + id + "'");
    if (rc != SQLITE_ROW) return c->error(rc, sqlite3_errmsg(c->db()));
    DocumentRecord d{text_at(*st, 0), text_at(*st, 1), text_at(*st, 2), {}};
    read_vector(*st, 3, &d.vector);
    sqlite3_reset(*st);
    return d;
  }

 private:
  // Removes the stored text of (collection, doc_id) from the full-text index
  // (external-content FTS5 needs the old text) and returns the row id, or 0
  // when there is no such document. Call inside a write transaction.
  static Result<std::int64_t> unindex_document(Conn& c, std::int64_t collection_id, const std::string& id) {
    ATELIER_ASSIGN_OR_RETURN(auto find, c.prepare("SELECT id, text FROM documents WHERE collection_id=? AND doc_id=?"));
    sqlite3_bind_int64(find, 1, collection_id);
    sqlite3_bind_text(find, 2, id.c_str(), -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(find);
    if (rc == SQLITE_DONE) {
      sqlite3_reset(find);
      return std::int64_t{0};
    }
    if (rc != SQLITE_ROW) return c.error(rc, sqlite3_errmsg(c.db()));
    const std::int64_t row = sqlite3_column_int64(find, 0);
    const std::string old_text = text_at(find, 1);
    sqlite3_reset(find);
    ATELIER_ASSIGN_OR_RETURN(auto del, c.prepare("INSERT INTO documents_fts(documents_fts, rowid, text) VALUES('delete', ?, ?)"));
    sqlite3_bind_int64(del, 1, row);
    sqlite3_bind_text(del, 2, old_text.c_str(), -1, SQLITE_TRANSIENT);
    if ((rc = sqlite3_step(del)) != SQLITE_DONE) return c.error(rc, sqlite3_errmsg(c.db()));
    return row;
  }

  static std::int64_t range_start(std::int64_t collection_id) { return collection_id << 40; }
  static void bind_doc(sqlite3_stmt* st, const DocumentRecord& d, int first) {
    sqlite3_bind_text(st, first, d.text.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, first + 1, d.metadata_json.c_str(), -1, SQLITE_TRANSIENT);
    if (d.vector.empty()) {
      sqlite3_bind_null(st, first + 2);
    } else {
      sqlite3_bind_blob(st, first + 2, d.vector.data(), static_cast<int>(d.vector.size() * sizeof(float)), SQLITE_TRANSIENT);
    }
  }
  static void read_vector(sqlite3_stmt* st, int col, std::vector<float>* out) {
    const int bytes = sqlite3_column_bytes(st, col);
    out->resize(static_cast<std::size_t>(bytes) / sizeof(float));
    if (bytes > 0) std::memcpy(out->data(), sqlite3_column_blob(st, col), out->size() * sizeof(float));
  }
  template <class Conn>
  static Status bump_version(Conn& c, std::int64_t collection_id) {
    ATELIER_ASSIGN_OR_RETURN(auto up, c.prepare("UPDATE collections SET version = version + 1 WHERE id=?"));
    sqlite3_bind_int64(up, 1, collection_id);
    const int rc = sqlite3_step(up);
    if (rc != SQLITE_DONE) return c.error(rc, sqlite3_errmsg(c.db()));
    return Status::ok();
  }

  static Collection read_collection(sqlite3_stmt* st) {
    return {sqlite3_column_int64(st, 0), text_at(st, 1), text_at(st, 2), text_at(st, 3), sqlite3_column_int(st, 4),
            sqlite3_column_int64(st, 5), sqlite3_column_int64(st, 6), sqlite3_column_int64(st, 7)};
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
  int rc = sqlite3_open_v2(path.c_str(), &raw,
                           SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  DbHandle db(raw);
  if (rc != SQLITE_OK) {
    return Status::unavailable("cannot open database " + path + ": " +
                               (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  auto conn = std::make_unique<Conn>(std::move(db));
  sqlite3_busy_timeout(conn->db(), 5000);
  ATELIER_RETURN_IF_ERROR(conn->exec(
      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
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
