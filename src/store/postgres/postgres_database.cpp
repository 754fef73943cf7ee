#include "store/postgres/postgres_database.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <cstring>
#include <deque>
#include <vector>

namespace atelier::db {
namespace {

struct ConnCloser {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct ResultClear {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using ConnHandle = std::unique_ptr<PGconn, ConnCloser>;
using ResultHandle = std::unique_ptr<PGresult, ResultClear>;

// SQLSTATE classes: 23 integrity (unique, foreign key), 08 connection,
// 40 serialization and deadlock, 53 resources, 57 operator intervention.
Status error_of(PGconn* c, const PGresult* r) {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  const std::string code = state ? state : "";
  if (code.rfind("23", 0) == 0) return Status::already_exists(msg);
  if (code.empty() || code.rfind("08", 0) == 0 || code.rfind("40", 0) == 0 ||
      code.rfind("53", 0) == 0 || code.rfind("57", 0) == 0) {
    return Status::unavailable("database: " + msg);
  }
  // A NUL or invalid UTF-8 in text: PostgreSQL cannot store it.
  if (code == "22021" || code == "22P05") return Status::invalid_argument("database: " + msg);
  return Status::internal("database: " + msg);
}

// `?` placeholders in order, or `?N`, become `$N`; quoted text is left alone.
std::pair<std::string, int> dollar_placeholders(const char* sql) {
  std::string out;
  int next = 0, most = 0;
  char quote = 0;
  for (const char* p = sql; *p; ++p) {
    const char c = *p;
    if (quote) {
      out += c;
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
      out += c;
      continue;
    }
    if (c != '?') {
      out += c;
      continue;
    }
    int n = 0;
    if (p[1] >= '0' && p[1] <= '9') {
      while (p[1] >= '0' && p[1] <= '9') n = n * 10 + (*++p - '0');
    } else {
      n = ++next;
    }
    most = std::max(most, n);
    out += '$' + std::to_string(n);
  }
  return {out, most};
}

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 0;
}

class PgRow final : public Row {
 public:
  PgRow(const PGresult* r, int row) : r_(r), row_(row) {}
  bool null(int col) const override { return PQgetisnull(r_, row_, col) != 0; }
  std::int64_t integer(int col) const override {
    return std::strtoll(PQgetvalue(r_, row_, col), nullptr, 10);
  }
  double real(int col) const override { return std::strtod(PQgetvalue(r_, row_, col), nullptr); }
  std::string text(int col) const override {
    return std::string(PQgetvalue(r_, row_, col),
                       static_cast<std::size_t>(PQgetlength(r_, row_, col)));
  }
  // bytea arrives in hex text form: "\x0a1b...".
  std::string blob(int col) const override {
    const char* v = PQgetvalue(r_, row_, col);
    const auto n = static_cast<std::size_t>(PQgetlength(r_, row_, col));
    std::string out;
    if (n < 2 || v[0] != '\\' || v[1] != 'x') return out;
    out.resize((n - 2) / 2);
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = static_cast<char>(hex(v[2 + 2 * i]) << 4 | hex(v[3 + 2 * i]));
    return out;
  }

 private:
  const PGresult* r_;
  int row_;
};

class PgConnection final : public Connection {
 public:
  explicit PgConnection(ConnHandle c) : c_(std::move(c)) {}
  Dialect dialect() const override { return Dialect::postgres; }

  Status each(const char* sql, const Params& params,
              const std::function<void(const Row&)>& f) override {
    ATELIER_RETURN_IF_ERROR(storable(params));
    ATELIER_ASSIGN_OR_RETURN(const Prepared* p, prepare(sql, params));
    Bound b(params);
    if (!PQsendQueryPrepared(c_.get(), p->name.c_str(), b.n(), b.values(), b.lengths(), b.formats(),
                             0)) {
      return lost();
    }
    PQsetSingleRowMode(c_.get());
    Status out = Status::ok();
    // Every result is read, so the connection is free for the next statement.
    while (ResultHandle r{PQgetResult(c_.get())}) {
      const auto st = PQresultStatus(r.get());
      if (st == PGRES_SINGLE_TUPLE) {
        if (out.is_ok()) f(PgRow(r.get(), 0));
      } else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && out.is_ok()) {
        out = error_of(c_.get(), r.get());
      }
    }
    return out;
  }

  Result<std::int64_t> execute(const char* sql, const Params& params) override {
    ATELIER_RETURN_IF_ERROR(storable(params));
    ATELIER_ASSIGN_OR_RETURN(const Prepared* p, prepare(sql, params));
    Bound b(params);
    ResultHandle r{
        PQexecPrepared(c_.get(), p->name.c_str(), b.n(), b.values(), b.lengths(), b.formats(), 0)};
    if (!r) return lost();
    const auto st = PQresultStatus(r.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return error_of(c_.get(), r.get());
    return static_cast<std::int64_t>(std::atoll(PQcmdTuples(r.get())));
  }

  Status script(std::string_view sql) override {
    const std::string text(sql);
    ResultHandle r{PQexec(c_.get(), text.c_str())};
    if (!r) return lost();
    const auto st = PQresultStatus(r.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return error_of(c_.get(), r.get());
    return Status::ok();
  }

 private:
  struct Prepared {
    const char* sql;
    std::string name;
  };

  // Values as libpq wants them: text for numbers and strings, binary bytea.
  class Bound {
   public:
    explicit Bound(const Params& params) {
      text_.reserve(params.size());
      for (const Value& v : params) {
        switch (v.type()) {
          case Value::Type::integer:
            text_.push_back(std::to_string(v.integer()));
            break;
          case Value::Type::real: {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.17g", v.real());
            text_.emplace_back(buf);
            break;
          }
          default:
            text_.emplace_back();
        }
      }
      for (std::size_t i = 0; i < params.size(); ++i) {
        const Value& v = params[i];
        if (v.is_null()) {
          values_.push_back(nullptr);
          lengths_.push_back(0);
          formats_.push_back(0);
        } else if (v.type() == Value::Type::text || v.type() == Value::Type::blob) {
          values_.push_back(v.text().data() ? v.text().data() : "");
          lengths_.push_back(static_cast<int>(v.text().size()));
          formats_.push_back(v.type() == Value::Type::blob ? 1 : 0);
          if (v.type() == Value::Type::text) {
            // Text goes NUL-terminated: copy it.
            text_[i] = std::string(v.text());
            values_.back() = text_[i].c_str();
          }
        } else {
          values_.push_back(text_[i].c_str());
          lengths_.push_back(0);
          formats_.push_back(0);
        }
      }
    }
    int n() const { return static_cast<int>(values_.size()); }
    const char* const* values() const { return values_.data(); }
    const int* lengths() const { return lengths_.data(); }
    const int* formats() const { return formats_.data(); }

   private:
    std::vector<std::string> text_;
    std::vector<const char*> values_;
    std::vector<int> lengths_, formats_;
  };

  // PostgreSQL text cannot hold NUL: refuse it rather than lose what follows.
  static Status storable(const Params& params) {
    for (const Value& v : params) {
      if (v.type() == Value::Type::text && v.text().find('\0') != std::string_view::npos) {
        return Status::invalid_argument("text with a NUL character cannot be stored in PostgreSQL");
      }
    }
    return Status::ok();
  }

  Status lost() {
    Status st = Status::unavailable(std::string("database: ") + PQerrorMessage(c_.get()));
    if (PQstatus(c_.get()) == CONNECTION_BAD) {
      // Reconnect for the next caller; the server forgot our statements.
      PQreset(c_.get());
      prepared_.clear();
    }
    return st;
  }

  // The parameter types, fixed when a statement is first prepared.
  static std::vector<Oid> types_of(const Params& params) {
    std::vector<Oid> oids;
    for (const Value& v : params) {
      switch (v.type()) {
        case Value::Type::integer:
        case Value::Type::null_int:
          oids.push_back(20);  // int8
          break;
        case Value::Type::real:
        case Value::Type::null_real:
          oids.push_back(701);  // float8
          break;
        case Value::Type::blob:
        case Value::Type::null_blob:
          oids.push_back(17);  // bytea
          break;
        default:
          oids.push_back(25);  // text
      }
    }
    return oids;
  }

  Result<const Prepared*> prepare(const char* sql, const Params& params) {
    if (PQstatus(c_.get()) == CONNECTION_BAD) {
      PQreset(c_.get());
      prepared_.clear();
    }
    for (const auto& p : prepared_)
      if (p.sql == sql) return &p;
    auto [text, n] = dollar_placeholders(sql);
    std::string name = "s" + std::to_string(prepared_.size());
    std::vector<Oid> oids = types_of(params);
    oids.resize(static_cast<std::size_t>(std::max<int>(n, static_cast<int>(oids.size()))), 0);
    ResultHandle r{PQprepare(c_.get(), name.c_str(), text.c_str(), static_cast<int>(oids.size()),
                             oids.data())};
    if (!r) return lost();
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) return error_of(c_.get(), r.get());
    prepared_.push_back({sql, std::move(name)});
    return &prepared_.back();
  }

  ConnHandle c_;
  std::deque<Prepared> prepared_;  // stable addresses
};

class PgDatabase final : public Database {
 public:
  explicit PgDatabase(std::string described) : described_(std::move(described)) {}
  Dialect dialect() const override { return Dialect::postgres; }
  std::string describe() const override { return described_; }
  void add(std::unique_ptr<Connection> c) { add_connection(std::move(c)); }

 protected:
  const char* begin_sql() const override { return "BEGIN"; }

 private:
  std::string described_;
};

// The URL without its password, for logs and /health/detailed.
std::string without_password(const std::string& url) {
  const auto scheme = url.find("://");
  const auto at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos) return url;
  const auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon) + url.substr(at);
}

void quiet(void*, const char*) {}

}  // namespace

Result<DatabasePtr> open_postgres(const std::string& url, int pool) {
  auto db = std::make_unique<PgDatabase>(without_password(url));
  for (int i = 0; i < std::max(pool, 1); ++i) {
    ConnHandle c{PQconnectdb(url.c_str())};
    if (!c || PQstatus(c.get()) != CONNECTION_OK) {
      std::string msg = c ? PQerrorMessage(c.get()) : "out of memory";
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      return Status::unavailable("cannot connect to " + without_password(url) + ": " + msg);
    }
    PQsetNoticeProcessor(c.get(), quiet, nullptr);
    auto conn = std::make_unique<PgConnection>(std::move(c));
    ATELIER_RETURN_IF_ERROR(conn->script("SET client_encoding = 'UTF8'"));
    db->add(std::move(conn));
  }
  return DatabasePtr(std::move(db));
}

}  // namespace atelier::db
