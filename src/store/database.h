// The database seam: what repositories need from a SQL database, and nothing
// else. Two implementations, SQLite (store/sqlite/, the embedded default) and
// PostgreSQL (store/postgres/, for replicas), are the only files that include
// a database driver. Repositories write their SQL once against this seam;
// where the dialects truly differ they branch on dialect(), in one place.
//
// SQL uses `?` placeholders, bound in order, or `?N` for the N-th parameter
// (repeatable); the PostgreSQL implementation spells them `$N`. Statements
// are cached per connection by the address of their text, so pass string
// literals (or strings that outlive the database).
//
// Errors: constraint violations are already_exists; a database that cannot
// be reached, is busy or has no free connection is unavailable (503 +
// Retry-After); anything else is internal. Nothing here throws.
//
// Thread safety: a Database may be used from any thread; a Connection belongs
// to one lease at a time and must not be shared.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"

namespace atelier::db {

enum class Dialect { sqlite, postgres };

// Raw bytes for a BLOB / BYTEA column.
struct Blob {
  std::string_view bytes;
};

// A bound parameter. It views its text: the value must outlive the call.
// Its type is part of the statement on PostgreSQL: pass the same C++ types at
// a call site every time (a NULL as the column's type: optional<T>, or
// null_of(); a bare nullptr is a NULL text).
class Value {
 public:
  enum class Type { null_text, null_int, null_real, null_blob, integer, real, text, blob };
  Value(std::nullptr_t) : type_(Type::null_text) {}
  Value(bool v) : type_(Type::integer), i_(v ? 1 : 0) {}
  Value(int v) : type_(Type::integer), i_(v) {}
  Value(std::int64_t v) : type_(Type::integer), i_(v) {}
  Value(double v) : type_(Type::real), d_(v) {}
  Value(std::string_view v) : type_(Type::text), s_(v) {}
  Value(const std::string& v) : type_(Type::text), s_(v) {}
  Value(const char* v) : type_(Type::text), s_(v) {}
  Value(Blob v) : type_(Type::blob), s_(v.bytes) {}
  Value(const std::optional<std::string>& v)
      : type_(v ? Type::text : Type::null_text),
        s_(v ? std::string_view(*v) : std::string_view()) {}
  Value(const std::optional<std::int64_t>& v)
      : type_(v ? Type::integer : Type::null_int), i_(v.value_or(0)) {}
  // A typed NULL: PostgreSQL prepares each statement with its parameters'
  // types, so a column's NULL must carry the column's type.
  static Value null_of(Type t) {
    Value v(nullptr);
    v.type_ = t;
    return v;
  }

  Type type() const { return type_; }
  bool is_null() const { return type_ <= Type::null_blob; }
  std::int64_t integer() const { return i_; }
  double real() const { return d_; }
  std::string_view text() const { return s_; }

 private:
  Type type_;
  std::int64_t i_ = 0;
  double d_ = 0;
  std::string_view s_;
};
using Params = std::vector<Value>;

// One result row, valid only inside the callback that receives it.
class Row {
 public:
  virtual ~Row() = default;
  virtual bool null(int col) const = 0;
  virtual std::int64_t integer(int col) const = 0;
  virtual double real(int col) const = 0;
  virtual std::string text(int col) const = 0;
  virtual std::string blob(int col) const = 0;
  std::optional<std::string> opt_text(int col) const {
    return null(col) ? std::nullopt : std::optional<std::string>(text(col));
  }
  std::optional<std::int64_t> opt_integer(int col) const {
    return null(col) ? std::nullopt : std::optional<std::int64_t>(integer(col));
  }
};

class Connection {
 public:
  virtual ~Connection() = default;
  virtual Dialect dialect() const = 0;
  // Runs a statement, calling `f` for each row as it arrives (rows are
  // streamed, never all held at once).
  virtual Status each(const char* sql, const Params& params,
                      const std::function<void(const Row&)>& f) = 0;
  // Runs a statement that returns no rows; returns the rows it changed.
  virtual Result<std::int64_t> execute(const char* sql, const Params& params) = 0;
  // Runs statements without parameters (migrations, transaction control).
  virtual Status script(std::string_view sql) = 0;
};

// Collects every row through `read`.
template <class T, class F>
Result<std::vector<T>> all(Connection& c, const char* sql, const Params& params, F read) {
  std::vector<T> out;
  ATELIER_RETURN_IF_ERROR(c.each(sql, params, [&](const Row& r) { out.push_back(read(r)); }));
  return out;
}
// The first row through `read`, or nullopt.
template <class T, class F>
Result<std::optional<T>> first(Connection& c, const char* sql, const Params& params, F read) {
  std::optional<T> out;
  ATELIER_RETURN_IF_ERROR(c.each(sql, params, [&](const Row& r) {
    if (!out) out = read(r);
  }));
  return out;
}

class Database;

// A connection borrowed from the pool for one scope.
class Lease {
 public:
  Lease(Database* db, std::unique_ptr<Connection> c) : db_(db), c_(std::move(c)) {}
  Lease(Lease&& o) noexcept : db_(o.db_), c_(std::move(o.c_)) {}
  Lease& operator=(Lease&&) = delete;
  ~Lease();
  Connection* operator->() const { return c_.get(); }
  Connection& operator*() const { return *c_; }

 private:
  Database* db_;
  std::unique_ptr<Connection> c_;
};

// One schema step, written once for both dialects. The few places where
// they differ are named tokens that render_migration() spells per dialect:
//   {{identity}}  an integer key the database assigns (a BIGINT identity)
//   {{bytes}}     raw bytes (BLOB / BYTEA)
//   {{double}}    a double (REAL / DOUBLE PRECISION)
//   {{key}}       text compared byte by byte, for ids that page (TEXT /
//                 TEXT COLLATE "C"; SQLite's TEXT already compares bytes)
// A step that only one dialect needs names it in `only`; the other records
// the version without running anything.
struct Migration {
  int version;
  const char* name;
  const char* sql;
  std::optional<Dialect> only;

  Migration(int v, const char* n, const char* s) : version(v), name(n), sql(s) {}
  Migration(int v, const char* n, Dialect d, const char* s)
      : version(v), name(n), sql(s), only(d) {}
};

// `sql` with every token spelled for `d`; invalid_argument for a token this
// list does not name (a typo must not reach the database as SQL).
Result<std::string> render_migration(std::string_view sql, Dialect d);

class Database {
 public:
  virtual ~Database() = default;
  virtual Dialect dialect() const = 0;
  // "sqlite:PATH" or "postgresql://user@host:port/db" (no password).
  virtual std::string describe() const = 0;

  // A free connection for work on behalf of `work`. It waits while the pool
  // is exhausted, never past `max_wait` (unavailable: 503 + Retry-After),
  // never past the request's deadline (deadline_exceeded) and not once the
  // request is cancelled (cancelled): a request that has already lost its
  // caller does not queue for a connection.
  Result<Lease> lease(const WorkContext& work = WorkContext{},
                      std::chrono::milliseconds max_wait = kMaxLeaseWait);
  // Runs `f` in a transaction (writers to the same rows serialise): commits
  // when it returns OK, rolls back otherwise. The lease is taken as above.
  Status transaction(const WorkContext& work, const std::function<Status(Connection&)>& f);
  Status transaction(const std::function<Status(Connection&)>& f) {
    return transaction(WorkContext{}, f);
  }
  static constexpr std::chrono::milliseconds kMaxLeaseWait{5000};
  // Applies the migrations newer than the schema version, each in its own
  // transaction; returns the version reached.
  Result<int> migrate(const std::vector<Migration>& migrations);
  Result<int> schema_version();
  Status ping();

 protected:
  // The pool: implementations hand their connections over at construction.
  void add_connection(std::unique_ptr<Connection> c);
  virtual const char* begin_sql() const = 0;  // "BEGIN IMMEDIATE" on SQLite

 private:
  friend class Lease;
  void give_back(std::unique_ptr<Connection> c);
  struct Pool;
  std::shared_ptr<Pool> pool_ = make_pool();
  static std::shared_ptr<Pool> make_pool();
};

using DatabasePtr = std::unique_ptr<Database>;

// Opens the database a URL names: "postgresql://..." / "postgres://..." or
// "sqlite:PATH" (a bare path is SQLite too). `pool` connections.
Result<DatabasePtr> open_database(const std::string& url, int pool);

}  // namespace atelier::db
