// `atelier db copy` takes its tables from the source's own catalog: after a
// copy, every table of the schema but the named bookkeeping was copied, row
// for row and value for value, on every pair of backends (SQLite always;
// PostgreSQL too when ATELIER_TEST_POSTGRES_URL is set). The test reads the
// catalogs itself, so a table that a migration adds and the copy misses fails
// it, without anyone listing the table here.
#include "app/db_copy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>

#include "store/backends_testing.h"

namespace atelier {
namespace {

using testing_support::BackendTest;

// The only tables db copy may leave out: each database's own bookkeeping
// (the migrations ledger, which both sides fill as they are migrated, and
// SQLite's AUTOINCREMENT high-water marks, carried over as sequences).
const std::set<std::string> kNotCopied = {"schema_migrations", "sqlite_sequence"};

// A column as the catalog declares it: i integer, r real, t text, b bytes,
// o boolean (0 or 1; PostgreSQL's BOOLEAN is read and written through casts).
struct Col {
  std::string name;
  char kind;
};
using Tables = std::map<std::string, std::vector<Col>>;

std::string quoted(const std::string& name) {
  return "\"" + name + "\"";
}

Tables catalog(db::Database& d) {
  Tables out;
  auto c = d.lease();
  EXPECT_TRUE(c.is_ok());
  if (!c.is_ok()) return out;
  Status st;
  if (d.dialect() == db::Dialect::postgres) {
    st = (*c)->each(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_schema = c.table_schema "
        "AND t.table_name = c.table_name WHERE c.table_schema = current_schema() "
        "AND t.table_type = 'BASE TABLE' ORDER BY c.table_name, c.ordinal_position",
        {}, [&](const db::Row& r) {
          const std::string type = r.text(2);
          const char kind = type == "bigint" || type == "integer" ? 'i'
                            : type == "double precision"          ? 'r'
                            : type == "bytea"                     ? 'b'
                            : type == "boolean"                   ? 'o'
                                                                  : 't';
          out[r.text(0)].push_back({r.text(1), kind});
        });
  } else {
    st = (*c)->each(
        "SELECT m.name, p.name, upper(p.type) FROM sqlite_master m "
        "JOIN pragma_table_info(m.name) p WHERE m.type = 'table' ORDER BY m.name, p.cid",
        {}, [&](const db::Row& r) {
          const std::string type = r.text(2);
          const auto has = [&](const char* s) { return type.find(s) != std::string::npos; };
          const char kind = has("BOOL")                  ? 'o'
                            : has("INT")                 ? 'i'
                            : has("REAL") || has("DOUB") ? 'r'
                            : has("BLOB")                ? 'b'
                                                         : 't';
          out[r.text(0)].push_back({r.text(1), kind});
        });
  }
  EXPECT_TRUE(st.is_ok()) << st.message();
  return out;
}

std::set<std::string> copyable(const Tables& tables) {
  std::set<std::string> names;
  for (const auto& entry : tables)
    if (!kNotCopied.count(entry.first)) names.insert(entry.first);
  return names;
}

// Statement texts outlive the databases (statements are cached by address).
struct Statements {
  std::deque<std::string> texts;
  const char* operator()(std::string s) { return texts.emplace_back(std::move(s)).c_str(); }
};

// Row k of every table: each integer is k (so that every foreign key names
// row k of its parent), each other value is distinct per column and row.
Status insert_row(db::Database& d, Statements& sql, const std::string& table,
                  const std::vector<Col>& cols, int k) {
  std::string names, marks;
  std::deque<std::string> held;
  db::Params params;
  for (const Col& c : cols) {
    const char* sep = names.empty() ? "" : ", ";
    names += sep + quoted(c.name);
    const bool cast = c.kind == 'o' && d.dialect() == db::Dialect::postgres;
    marks += sep + std::string(cast ? "CAST(CAST(? AS INTEGER) AS BOOLEAN)" : "?");
    switch (c.kind) {
      case 'i':
        params.push_back(std::int64_t{k});
        break;
      case 'o':
        params.push_back(std::int64_t{k % 2});
        break;
      case 'r':
        params.push_back(k + 0.25);
        break;
      case 'b':
        params.push_back(
            db::Blob{held.emplace_back(std::string("\x00\xff", 2) + c.name + std::to_string(k))});
        break;
      default:
        params.push_back(
            std::string_view(held.emplace_back(table + "." + c.name + " #" + std::to_string(k))));
    }
  }
  auto c = d.lease();
  if (!c.is_ok()) return c.status();
  return (*c)
      ->execute(sql("INSERT INTO " + quoted(table) + " (" + names + ") VALUES (" + marks + ")"),
                params)
      .status();
}

// Rows 1 and 2 in every table, parents first: a row its foreign keys refuse
// waits for the next round.
void fill(db::Database& d, Statements& sql, const Tables& tables) {
  for (int k = 1; k <= 2; ++k) {
    std::set<std::string> left = copyable(tables);
    std::string last_error;
    while (!left.empty()) {
      std::set<std::string> still;
      for (const auto& t : left) {
        Status st = insert_row(d, sql, t, tables.at(t), k);
        if (!st.is_ok()) {
          still.insert(t);
          last_error = t + ": " + st.message();
        }
      }
      ASSERT_LT(still.size(), left.size()) << last_error;
      left = std::move(still);
    }
  }
}

std::int64_t count(db::Database& d, Statements& sql, const std::string& table) {
  auto c = d.lease();
  EXPECT_TRUE(c.is_ok());
  if (!c.is_ok()) return -1;
  auto n = db::first<std::int64_t>(**c, sql("SELECT COUNT(*) FROM " + quoted(table)), {},
                                   [](const db::Row& r) { return r.integer(0); });
  EXPECT_TRUE(n.is_ok()) << table << ": " << n.status().message();
  return n.is_ok() ? n->value_or(-1) : -1;
}

// Every row of `table` as text, in a stable order, the columns in the
// source's order and each read as its kind on that side.
std::vector<std::string> dump(db::Database& d, Statements& sql, const std::string& table,
                              const std::vector<Col>& order, const std::vector<Col>& here) {
  std::string list;
  std::vector<char> kinds;
  for (const Col& c : order) {
    auto it =
        std::find_if(here.begin(), here.end(), [&](const Col& x) { return x.name == c.name; });
    EXPECT_NE(it, here.end()) << table << "." << c.name << " is missing";
    if (it == here.end()) return {};
    const char kind = it->kind == 'o' ? 'i' : it->kind;
    list += std::string(list.empty() ? "" : ", ") +
            (it->kind == 'o' ? "CAST(" + quoted(c.name) + " AS INTEGER)" : quoted(c.name));
    kinds.push_back(kind);
  }
  std::vector<std::string> rows;
  auto c = d.lease();
  EXPECT_TRUE(c.is_ok());
  if (!c.is_ok()) return rows;
  Status st =
      (*c)->each(sql("SELECT " + list + " FROM " + quoted(table)), {}, [&](const db::Row& r) {
        std::ostringstream row;
        for (std::size_t i = 0; i < kinds.size(); ++i) {
          const int col = static_cast<int>(i);
          row << (i ? " | " : "");
          if (r.null(col)) {
            row << "NULL";
          } else if (kinds[i] == 'i') {
            row << r.integer(col);
          } else if (kinds[i] == 'r') {
            row << r.real(col);
          } else if (kinds[i] == 'b') {
            for (unsigned char ch : r.blob(col)) row << int{ch} << ' ';
          } else {
            row << r.text(col);
          }
        }
        rows.push_back(row.str());
      });
  EXPECT_TRUE(st.is_ok()) << table << ": " << st.message();
  std::sort(rows.begin(), rows.end());
  return rows;
}

// A table no migration knows, with a value of every kind: the copy finds it
// in the catalog like any other.
std::string later_table(db::Dialect dialect) {
  return dialect == db::Dialect::postgres
             ? "CREATE TABLE later_additions (id BIGINT PRIMARY KEY, flag BOOLEAN, "
               "weight DOUBLE PRECISION, note TEXT, data BYTEA)"
             : "CREATE TABLE later_additions (id BIGINT PRIMARY KEY, flag BOOLEAN, "
               "weight DOUBLE PRECISION, note TEXT, data BLOB)";
}

Status script(db::Database& d, const std::string& text) {
  auto c = d.lease();
  if (!c.is_ok()) return c.status();
  return (*c)->script(text);
}

Result<std::int64_t> numbered_user(db::Database& d, const std::string& email) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, d.lease());
  ATELIER_RETURN_IF_ERROR(c->execute("INSERT INTO users (email, password_hash, tier, role, "
                                     "created_at) VALUES (?, 'h', 'free', 'user', 0)",
                                     {email})
                              .status());
  ATELIER_ASSIGN_OR_RETURN(
      auto id, db::first<std::int64_t>(*c, "SELECT id FROM users WHERE email = ?", {email},
                                       [](const db::Row& r) { return r.integer(0); }));
  return id.value_or(-1);
}

// An empty database to copy into: a fresh SQLite file, or a fresh schema on
// the PostgreSQL server.
struct Target {
  std::string url;
  std::filesystem::path dir;
  std::string schema;
  db::DatabasePtr admin;
  ~Target() {
    if (admin) {
      auto lease = admin->lease();
      if (lease.is_ok()) (void)(*lease)->script("DROP SCHEMA " + schema + " CASCADE");
    }
    if (!dir.empty()) std::filesystem::remove_all(dir);
  }
};

std::unique_ptr<Target> make_target(const std::string& kind) {
  auto t = std::make_unique<Target>();
  const std::string name = std::to_string(std::random_device{}());
  if (kind == "postgres") {
    const std::string base = testing_support::postgres_url();
    t->schema = "copy" + name;
    auto admin = db::open_database(base, 1);
    EXPECT_TRUE(admin.is_ok()) << admin.status().message();
    if (!admin.is_ok()) return nullptr;
    t->admin = std::move(admin).value();
    EXPECT_TRUE(script(*t->admin, "CREATE SCHEMA " + t->schema).is_ok());
    t->url = base + (base.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" +
             t->schema;
  } else {
    t->dir = std::filesystem::path(::testing::TempDir()) / ("copy-target-" + name);
    std::filesystem::create_directories(t->dir);
    t->url = "sqlite:" + (t->dir / "t.db").string();
  }
  return t;
}

class DbCopy : public BackendTest {};

TEST_P(DbCopy, CopiesEveryTableTheCatalogListsWithEveryRow) {
  Statements sql;
  ASSERT_TRUE(script(*db_, later_table(db_->dialect())).is_ok());
  const Tables source_tables = catalog(*db_);
  const std::set<std::string> expected = copyable(source_tables);
  ASSERT_TRUE(expected.count("users") && expected.count("wardrobe_items") &&
              expected.count("later_additions"));
  fill(*db_, sql, source_tables);
  if (HasFatalFailure()) return;
  // A user the database numbered, then deleted: its id must not come back
  // in the target. (The filled rows carry their ids; PostgreSQL's identity
  // is moved past them as the application's own inserts would have.)
  if (db_->dialect() == db::Dialect::postgres) {
    ASSERT_TRUE(
        script(*db_, "SELECT setval(pg_get_serial_sequence('users', 'id'), MAX(id)) FROM users")
            .is_ok());
  }
  auto gone = numbered_user(*db_, "gone@example.com");
  ASSERT_TRUE(gone.is_ok()) << gone.status().message();
  EXPECT_EQ(*gone, 3);
  ASSERT_TRUE(script(*db_, "DELETE FROM users WHERE email = 'gone@example.com'").is_ok());
  for (const auto& t : expected) EXPECT_EQ(count(*db_, sql, t), 2) << t;

  std::vector<std::string> kinds = {"sqlite"};
  if (!testing_support::postgres_url().empty()) kinds.push_back("postgres");
  for (const auto& kind : kinds) {
    SCOPED_TRACE(GetParam() + " -> " + kind);
    auto target = make_target(kind);
    ASSERT_NE(target, nullptr);
    {
      auto opened = db::open_database(target->url, 2);
      ASSERT_TRUE(opened.is_ok()) << opened.status().message();
      ASSERT_TRUE(script(**opened, later_table((*opened)->dialect())).is_ok());
    }
    std::ostringstream out;
    auto copied = app::copy_database(url_, target->url, out);
    ASSERT_TRUE(copied.is_ok()) << copied.status().message() << "\n" << out.str();
    std::set<std::string> reported;
    for (const auto& tc : *copied) {
      EXPECT_TRUE(reported.insert(tc.table).second) << tc.table << " copied twice";
      EXPECT_EQ(tc.source, 2) << tc.table;
      EXPECT_EQ(tc.copied, 2) << tc.table;
      EXPECT_EQ(tc.target, 2) << tc.table;
    }
    // Every table of the catalog but the named bookkeeping, and no other.
    EXPECT_EQ(reported, expected) << out.str();

    auto opened = db::open_database(target->url, 2);
    ASSERT_TRUE(opened.is_ok()) << opened.status().message();
    db::Database& dest = **opened;
    const Tables target_tables = catalog(dest);
    EXPECT_EQ(copyable(target_tables), expected);
    for (const auto& t : expected) {
      ASSERT_TRUE(target_tables.count(t)) << t;
      EXPECT_EQ(count(dest, sql, t), count(*db_, sql, t)) << t;
      EXPECT_EQ(dump(dest, sql, t, source_tables.at(t), target_tables.at(t)),
                dump(*db_, sql, t, source_tables.at(t), source_tables.at(t)))
          << t;
    }

    // A second run finds everything there and copies nothing.
    std::ostringstream again_out;
    auto again = app::copy_database(url_, target->url, again_out);
    ASSERT_TRUE(again.is_ok()) << again.status().message();
    for (const auto& tc : *again) EXPECT_EQ(tc.copied, 0) << tc.table;

    // New rows continue past every id the source ever gave.
    auto next = numbered_user(dest, "next@example.com");
    ASSERT_TRUE(next.is_ok()) << next.status().message();
    EXPECT_EQ(*next, 4);
  }
}

ATELIER_ON_EVERY_BACKEND(DbCopy);

}  // namespace
}  // namespace atelier
