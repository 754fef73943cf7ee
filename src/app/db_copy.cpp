#include "app/db_copy.h"

#include <algorithm>
#include <cctype>
#include <deque>
#include <functional>
#include <map>
#include <set>

#include "store/database.h"
#include "store/migrations.h"

namespace atelier::app {
namespace {

// The tables and columns come from each database's own catalog (SQLite:
// sqlite_master and pragma_table_info; PostgreSQL: information_schema.columns
// of the current schema), so a table or a column a migration adds is copied
// without being listed here.
struct Column {
  std::string name;
  char kind = 't';       // i integer, r real, t text, b blob (BLOB / BYTEA)
  bool boolean = false;  // a PostgreSQL BOOLEAN, moved as 0 / 1
};
struct TableInfo {
  std::vector<Column> columns;    // in declaration order
  std::vector<std::string> key;   // the primary key, for a stable read order
  std::string identity;           // a column the database numbers itself
  std::set<std::string> parents;  // the tables its foreign keys name
};
using Catalog = std::map<std::string, TableInfo>;

// Each database's own bookkeeping, never copied: the migrations ledger (both
// sides are migrated before the copy and record their own versions) and
// SQLite's internal tables (sqlite_sequence's high-water marks are carried
// over into the target's sequences below instead; sqlite_stat*).
bool bookkeeping(const std::string& table) {
  return table == "schema_migrations" || table.rfind("sqlite_", 0) == 0;
}

std::string quoted(const std::string& name) {
  std::string q = "\"";
  for (char ch : name) q += ch == '"' ? std::string("\"\"") : std::string(1, ch);
  return q + "\"";
}

std::string upper(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  return s;
}

// SQLite's type affinity (sqlite.org/datatype3.html, 3.1) of a declared type.
Result<Column> sqlite_column(const std::string& table, std::string name, const std::string& type) {
  const std::string t = upper(type);
  const auto has = [&](const char* s) { return t.find(s) != std::string::npos; };
  Column c{std::move(name)};
  if (has("INT") || has("BOOL")) {
    c.kind = 'i';
  } else if (has("CHAR") || has("CLOB") || has("TEXT")) {
    c.kind = 't';
  } else if (has("BLOB") || t.empty()) {
    c.kind = 'b';
  } else if (has("REAL") || has("FLOA") || has("DOUB")) {
    c.kind = 'r';
  } else {
    return Status::internal("db copy cannot move " + table + "." + c.name + " (type " + type + ")");
  }
  return c;
}

Result<Column> postgres_column(const std::string& table, std::string name,
                               const std::string& type) {
  Column c{std::move(name)};
  if (type == "bigint" || type == "integer" || type == "smallint") {
    c.kind = 'i';
  } else if (type == "boolean") {
    c.kind = 'i';
    c.boolean = true;
  } else if (type == "double precision" || type == "real") {
    c.kind = 'r';
  } else if (type == "text" || type == "character varying" || type == "character") {
    c.kind = 't';
  } else if (type == "bytea") {
    c.kind = 'b';
  } else {
    return Status::internal("db copy cannot move " + table + "." + c.name + " (type " + type + ")");
  }
  return c;
}

Result<Catalog> sqlite_catalog(db::Connection& c) {
  Catalog cat;
  std::set<std::string> autoincrement;
  ATELIER_RETURN_IF_ERROR(
      c.each("SELECT name, COALESCE(sql, '') FROM sqlite_master WHERE type = 'table'", {},
             [&](const db::Row& r) {
               const std::string name = r.text(0);
               if (bookkeeping(name)) return;
               cat[name];
               if (upper(r.text(1)).find("AUTOINCREMENT") != std::string::npos)
                 autoincrement.insert(name);
             }));
  Status failed;
  std::map<std::string, std::vector<std::pair<std::int64_t, std::string>>> keys;
  ATELIER_RETURN_IF_ERROR(c.each(
      "SELECT m.name, p.name, p.type, p.pk FROM sqlite_master m JOIN pragma_table_info(m.name) p "
      "WHERE m.type = 'table' ORDER BY m.name, p.cid",
      {}, [&](const db::Row& r) {
        auto t = cat.find(r.text(0));
        if (t == cat.end() || !failed.is_ok()) return;
        auto col = sqlite_column(t->first, r.text(1), r.text(2));
        if (!col.is_ok()) {
          failed = col.status();
          return;
        }
        if (r.integer(3) > 0) keys[t->first].emplace_back(r.integer(3), col->name);
        t->second.columns.push_back(*std::move(col));
      }));
  ATELIER_RETURN_IF_ERROR(failed);
  for (auto& [name, key] : keys) {
    std::sort(key.begin(), key.end());
    for (auto& k : key) cat[name].key.push_back(k.second);
  }
  // AUTOINCREMENT is only allowed on an INTEGER PRIMARY KEY.
  for (const auto& name : autoincrement)
    if (cat[name].key.size() == 1) cat[name].identity = cat[name].key[0];
  ATELIER_RETURN_IF_ERROR(
      c.each("SELECT m.name, f.\"table\" FROM sqlite_master m "
             "JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table'",
             {}, [&](const db::Row& r) {
               auto t = cat.find(r.text(0));
               if (t != cat.end()) t->second.parents.insert(r.text(1));
             }));
  return cat;
}

Result<Catalog> postgres_catalog(db::Connection& c) {
  Catalog cat;
  Status failed;
  ATELIER_RETURN_IF_ERROR(
      c.each("SELECT c.table_name, c.column_name, c.data_type, c.is_identity, "
             "COALESCE(c.column_default, '') FROM information_schema.columns c "
             "JOIN information_schema.tables t ON t.table_schema = c.table_schema "
             "AND t.table_name = c.table_name WHERE c.table_schema = current_schema() "
             "AND t.table_type = 'BASE TABLE' ORDER BY c.table_name, c.ordinal_position",
             {}, [&](const db::Row& r) {
               const std::string table = r.text(0);
               if (bookkeeping(table) || !failed.is_ok()) return;
               auto col = postgres_column(table, r.text(1), r.text(2));
               if (!col.is_ok()) {
                 failed = col.status();
                 return;
               }
               TableInfo& t = cat[table];
               if (r.text(3) == "YES" || r.text(4).rfind("nextval(", 0) == 0)
                 t.identity = col->name;
               t.columns.push_back(*std::move(col));
             }));
  ATELIER_RETURN_IF_ERROR(failed);
  ATELIER_RETURN_IF_ERROR(c.each(
      "SELECT k.table_name, k.column_name FROM information_schema.table_constraints c "
      "JOIN information_schema.key_column_usage k ON k.constraint_schema = c.constraint_schema "
      "AND k.constraint_name = c.constraint_name AND k.table_name = c.table_name "
      "WHERE c.constraint_type = 'PRIMARY KEY' AND c.table_schema = current_schema() "
      "ORDER BY k.table_name, k.ordinal_position",
      {}, [&](const db::Row& r) {
        auto t = cat.find(r.text(0));
        if (t != cat.end()) t->second.key.push_back(r.text(1));
      }));
  ATELIER_RETURN_IF_ERROR(c.each(
      "SELECT c.relname, p.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
      "JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE k.contype = 'f' AND n.nspname = current_schema()",
      {}, [&](const db::Row& r) {
        auto t = cat.find(r.text(0));
        if (t != cat.end()) t->second.parents.insert(r.text(1));
      }));
  return cat;
}

Result<Catalog> read_catalog(db::Database& d) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, d.lease());
  return d.dialect() == db::Dialect::postgres ? postgres_catalog(*c) : sqlite_catalog(*c);
}

// Parents before children, so that foreign keys hold as rows arrive.
std::vector<std::string> foreign_key_order(const Catalog& cat) {
  std::vector<std::string> order;
  std::set<std::string> seen;
  std::function<void(const std::string&)> visit = [&](const std::string& name) {
    if (!seen.insert(name).second) return;
    for (const auto& p : cat.at(name).parents)
      if (cat.count(p)) visit(p);
    order.push_back(name);
  };
  for (const auto& entry : cat) visit(entry.first);
  return order;
}

// The highest value the database ever gave `table`'s identity column, rows
// since deleted included (ids are never reused, migration 14), or 0.
Result<std::int64_t> high_water(db::Database& d, const std::string& table, const TableInfo& t,
                                std::deque<std::string>& sql) {
  if (t.identity.empty()) return std::int64_t{0};
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, d.lease());
  const auto read = [](const db::Row& r) { return r.integer(0); };
  std::int64_t sequence = 0;
  if (d.dialect() == db::Dialect::postgres) {
    ATELIER_ASSIGN_OR_RETURN(
        auto seq, db::first<std::string>(
                      *c, "SELECT pg_get_serial_sequence(?, ?)", {quoted(table), t.identity},
                      [](const db::Row& r) { return r.null(0) ? std::string() : r.text(0); }));
    if (seq && !seq->empty()) {
      const char* last = sql.emplace_back(
                                "SELECT CASE WHEN is_called THEN last_value ELSE "
                                "last_value - 1 END FROM " +
                                *seq)
                             .c_str();
      ATELIER_ASSIGN_OR_RETURN(auto v, db::first<std::int64_t>(*c, last, {}, read));
      sequence = v.value_or(0);
    }
  } else {
    ATELIER_ASSIGN_OR_RETURN(
        auto v,
        db::first<std::int64_t>(
            *c, "SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = ?", {table}, read));
    sequence = v.value_or(0);
  }
  const char* max =
      sql.emplace_back("SELECT COALESCE(MAX(" + quoted(t.identity) + "), 0) FROM " + quoted(table))
          .c_str();
  ATELIER_ASSIGN_OR_RETURN(auto m, db::first<std::int64_t>(*c, max, {}, read));
  return std::max(sequence, m.value_or(0));
}

// New rows in the target continue after `at_least`.
Status raise_sequence(db::Database& d, const std::string& table, const TableInfo& t,
                      std::int64_t at_least) {
  if (t.identity.empty()) return Status::ok();
  return d.transaction([&](db::Connection& c) -> Status {
    if (d.dialect() == db::Dialect::postgres) {
      return c.each("SELECT setval(pg_get_serial_sequence(?1, ?2), ?3 + 1, false)",
                    {quoted(table), t.identity, at_least}, [](const db::Row&) {});
    }
    ATELIER_ASSIGN_OR_RETURN(
        auto changed, c.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?1) WHERE name = ?2",
                                {at_least, table}));
    if (changed == 0) {
      ATELIER_RETURN_IF_ERROR(
          c.execute("INSERT INTO sqlite_sequence(name, seq) VALUES (?2, ?1)", {at_least, table})
              .status());
    }
    return Status::ok();
  });
}

db::Value::Type null_type(char kind) {
  switch (kind) {
    case 'i':
      return db::Value::Type::null_int;
    case 'r':
      return db::Value::Type::null_real;
    case 'b':
      return db::Value::Type::null_blob;
    default:
      return db::Value::Type::null_text;
  }
}

// One row as owned values, bound as views when written.
struct OwnedRow {
  std::vector<std::int64_t> ints;
  std::vector<double> reals;
  std::vector<std::string> texts;
  std::vector<char> nulls;
};

OwnedRow read_row(const db::Row& r, const std::string& kinds) {
  OwnedRow o;
  const std::size_t n = kinds.size();
  o.ints.resize(n);
  o.reals.resize(n);
  o.texts.resize(n);
  o.nulls.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const int col = static_cast<int>(i);
    if (r.null(col)) {
      o.nulls[i] = 1;
      continue;
    }
    switch (kinds[i]) {
      case 'i':
        o.ints[i] = r.integer(col);
        break;
      case 'r':
        o.reals[i] = r.real(col);
        break;
      case 'b':
        o.texts[i] = r.blob(col);
        break;
      default:
        o.texts[i] = r.text(col);
    }
  }
  return o;
}

db::Params bind_row(const OwnedRow& o, const std::string& kinds) {
  db::Params p;
  for (std::size_t i = 0; i < kinds.size(); ++i) {
    const char k = kinds[i];
    if (o.nulls[i]) {
      p.push_back(db::Value::null_of(null_type(k)));
    } else if (k == 'i') {
      p.push_back(o.ints[i]);
    } else if (k == 'r') {
      p.push_back(o.reals[i]);
    } else if (k == 'b') {
      p.push_back(db::Blob{o.texts[i]});
    } else {
      p.push_back(std::string_view(o.texts[i]));
    }
  }
  return p;
}

Result<std::int64_t> count(db::Database& d, const char* sql) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, d.lease());
  ATELIER_ASSIGN_OR_RETURN(
      auto n, db::first<std::int64_t>(*c, sql, {}, [](const db::Row& r) { return r.integer(0); }));
  return n.value_or(0);
}

// The statements that move one table: every column the source has, each of
// which the target must have with the same kind of value.
struct Plan {
  std::string kinds, select, insert, counting;
};

Result<Plan> plan(const std::string& name, const TableInfo& from, const TableInfo& to) {
  Plan p;
  std::string columns, reads, marks;
  for (const Column& c : from.columns) {
    auto d = std::find_if(to.columns.begin(), to.columns.end(),
                          [&](const Column& x) { return x.name == c.name; });
    if (d == to.columns.end())
      return Status::internal("column " + name + "." + c.name + " is not in the target");
    if (d->kind != c.kind)
      return Status::internal("column " + name + "." + c.name +
                              " holds different kinds of values in the source and the target");
    const char* sep = p.kinds.empty() ? "" : ", ";
    p.kinds += c.kind;
    columns += sep + quoted(c.name);
    reads += sep + (c.boolean ? "CAST(" + quoted(c.name) + " AS INTEGER)" : quoted(c.name));
    marks += sep + std::string(d->boolean ? "CAST(CAST(? AS INTEGER) AS BOOLEAN)" : "?");
  }
  std::string order;
  for (const auto& k : from.key) order += (order.empty() ? " ORDER BY " : ", ") + quoted(k);
  p.select = "SELECT " + reads + " FROM " + quoted(name) + order;
  p.insert = "INSERT INTO " + quoted(name) + " (" + columns + ") VALUES (" + marks +
             ") ON CONFLICT DO NOTHING";
  p.counting = "SELECT COUNT(*) FROM " + quoted(name);
  return p;
}

}  // namespace

Result<std::vector<TableCopy>> copy_database(const std::string& from, const std::string& to,
                                             std::ostream& out) {
  // Statement texts outlive both databases (statements are cached by address).
  std::deque<std::string> sql;
  ATELIER_ASSIGN_OR_RETURN(auto source, db::open_database(from, 2));
  ATELIER_ASSIGN_OR_RETURN(auto target, db::open_database(to, 2));
  ATELIER_RETURN_IF_ERROR(source->migrate(schema_migrations()).status());
  ATELIER_RETURN_IF_ERROR(target->migrate(schema_migrations()).status());
  ATELIER_ASSIGN_OR_RETURN(Catalog source_tables, read_catalog(*source));
  ATELIER_ASSIGN_OR_RETURN(Catalog target_tables, read_catalog(*target));
  out << "copying " << source->describe() << " -> " << target->describe() << "\n";
  std::vector<TableCopy> report;
  for (const std::string& name : foreign_key_order(source_tables)) {
    const TableInfo& from_table = source_tables.at(name);
    auto to_table = target_tables.find(name);
    if (to_table == target_tables.end())
      return Status::internal("table " + name + " is in the source but not in the target");
    ATELIER_ASSIGN_OR_RETURN(Plan p, plan(name, from_table, to_table->second));
    const char* select = sql.emplace_back(p.select).c_str();
    const char* insert = sql.emplace_back(p.insert).c_str();
    const char* counting = sql.emplace_back(p.counting).c_str();
    TableCopy tc{name};
    std::vector<OwnedRow> batch;
    Status failed;
    auto flush = [&]() -> Status {
      if (batch.empty()) return Status::ok();
      Status st = target->transaction([&](db::Connection& c) -> Status {
        std::int64_t n = 0;
        for (const auto& row : batch) {
          ATELIER_ASSIGN_OR_RETURN(auto changed, c.execute(insert, bind_row(row, p.kinds)));
          n += changed;
        }
        tc.copied += n;
        return Status::ok();
      });
      batch.clear();
      return st;
    };
    {
      ATELIER_ASSIGN_OR_RETURN(db::Lease c, source->lease());
      ATELIER_RETURN_IF_ERROR(c->each(select, {}, [&](const db::Row& r) {
        if (!failed.is_ok()) return;
        batch.push_back(read_row(r, p.kinds));
        ++tc.source;
        if (batch.size() >= 500) failed = flush();
      }));
    }
    ATELIER_RETURN_IF_ERROR(failed);
    ATELIER_RETURN_IF_ERROR(flush());
    // New rows continue after the copied ids, and after ids the source gave
    // to rows since deleted (a deleted user's id must not name a new one).
    ATELIER_ASSIGN_OR_RETURN(std::int64_t given, high_water(*source, name, from_table, sql));
    ATELIER_ASSIGN_OR_RETURN(std::int64_t held, high_water(*target, name, to_table->second, sql));
    ATELIER_RETURN_IF_ERROR(raise_sequence(*target, name, to_table->second, std::max(given, held)));
    ATELIER_ASSIGN_OR_RETURN(tc.target, count(*target, counting));
    out << "  " << name << ": " << tc.source << " in source, " << tc.copied << " copied, "
        << tc.target << " in target\n";
    report.push_back(tc);
  }
  for (const auto& tc : report) {
    if (tc.source != tc.target) {
      return Status::internal("counts differ for " + tc.table + ": " + std::to_string(tc.source) +
                              " in the source, " + std::to_string(tc.target) +
                              " in the target (it held other rows, or some were refused)");
    }
  }
  out << "verified: every table holds as many rows in the target as in the source\n";
  return report;
}

}  // namespace atelier::app
