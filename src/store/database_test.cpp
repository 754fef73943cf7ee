// The seam itself on both backends: migrations, binds and reads of every
// type, transactions, the bounded pool.
#include "store/database.h"

#include <gtest/gtest.h>

#include <thread>

#include "store/backends_testing.h"

namespace atelier {
namespace {

using testing_support::BackendTest;
class Database : public BackendTest {};

TEST_P(Database, MigrationsAreVersionedAndIdempotent) {
  auto v1 = db_->schema_version();
  ASSERT_TRUE(v1.is_ok());
  EXPECT_EQ(*v1, schema_migrations().back().version);
  auto again = db_->migrate(schema_migrations());
  ASSERT_TRUE(again.is_ok()) << again.status().message();
  EXPECT_EQ(*again, *v1);
  EXPECT_TRUE(db_->ping().is_ok());
  EXPECT_EQ(db_->dialect(), GetParam() == "postgres" ? db::Dialect::postgres : db::Dialect::sqlite);
  EXPECT_EQ(db_->describe().find("password"), std::string::npos);
}

TEST(Migrations, TokensAreSpelledPerDialectAndAnUnknownOneIsRefused) {
  auto lite = db::render_migration("CREATE TABLE t (id {{identity}}, v {{bytes}}, k {{key}})",
                                   db::Dialect::sqlite);
  ASSERT_TRUE(lite.is_ok());
  EXPECT_EQ(*lite, "CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB, k TEXT)");
  auto pg = db::render_migration("x {{double}} y {{key}}", db::Dialect::postgres);
  ASSERT_TRUE(pg.is_ok());
  EXPECT_EQ(*pg, "x DOUBLE PRECISION y TEXT COLLATE \"C\"");
  EXPECT_EQ(db::render_migration("id {{identiy}}", db::Dialect::sqlite).status().code(),
            Code::invalid_argument);
  EXPECT_EQ(db::render_migration("id {{identity", db::Dialect::postgres).status().code(),
            Code::invalid_argument);
  // Every step of the schema renders on both dialects with nothing left over.
  for (const auto& m : schema_migrations()) {
    for (auto d : {db::Dialect::sqlite, db::Dialect::postgres}) {
      auto sql = db::render_migration(m.sql, d);
      ASSERT_TRUE(sql.is_ok()) << m.version << ": " << sql.status().message();
      EXPECT_EQ(sql->find("{{"), std::string::npos) << m.version;
    }
  }
}

TEST_P(Database, EveryTypeRoundTripsWithNumberedAndRepeatedPlaceholders) {
  auto c = db_->lease();
  ASSERT_TRUE(c.is_ok());
  ASSERT_TRUE((*c)->script("CREATE TABLE t (i BIGINT, d DOUBLE PRECISION, s TEXT, b " +
                           std::string(GetParam() == "postgres" ? "BYTEA" : "BLOB") + ")")
                  .is_ok());
  const std::string bytes("\x00\x01\xff\x7f", 4);
  const std::string text = "caf\xc3\xa9 'quoted' ?1 \"x\"";
  ASSERT_EQ(*(*c)->execute("INSERT INTO t VALUES (?, ?, ?, ?)",
                           {std::int64_t{-9007199254740993}, 0.1, text, db::Blob{bytes}}),
            1);
  ASSERT_TRUE((*c)->execute("INSERT INTO t VALUES (?1, ?2, ?3, ?4)",
                            {std::optional<std::int64_t>(), 2.5, nullptr,
                             db::Value::null_of(db::Value::Type::null_blob)})
                  .is_ok());
  int rows = 0;
  ASSERT_TRUE((*c)->each("SELECT i, d, s, b FROM t WHERE i = ?1 OR (?1 IS NOT NULL AND i IS NULL) "
                         "ORDER BY d",
                         {std::int64_t{-9007199254740993}},
                         [&](const db::Row& r) {
                           ++rows;
                           if (rows == 1) {
                             EXPECT_EQ(r.integer(0), -9007199254740993);
                             EXPECT_EQ(r.real(1), 0.1);  // bit-exact
                             EXPECT_EQ(r.text(2), text);
                             EXPECT_EQ(r.blob(3), bytes);
                           } else {
                             EXPECT_TRUE(r.null(0));
                             EXPECT_FALSE(r.opt_text(2).has_value());
                             EXPECT_TRUE(r.null(3));
                           }
                         })
                  .is_ok());
  EXPECT_EQ(rows, 2);
  // A bad statement is an error, never a crash; the connection stays usable.
  EXPECT_FALSE((*c)->each("SELECT nope FROM t", {}, [](const db::Row&) {}).is_ok());
  EXPECT_TRUE((*c)->each("SELECT 1", {}, [](const db::Row&) {}).is_ok());
}

TEST_P(Database, TransactionsCommitOrRollBackWhole) {
  {
    auto c = db_->lease();
    ASSERT_TRUE((*c)->script("CREATE TABLE t (k TEXT PRIMARY KEY)").is_ok());
  }
  EXPECT_TRUE(db_->transaction([](db::Connection& c) {
                   return c.execute("INSERT INTO t VALUES ('a')", {}).status();
                 })
                  .is_ok());
  Status failed = db_->transaction([](db::Connection& c) -> Status {
    ATELIER_RETURN_IF_ERROR(c.execute("INSERT INTO t VALUES ('b')", {}).status());
    return c.execute("INSERT INTO t VALUES ('a')", {}).status();  // duplicate key
  });
  EXPECT_EQ(failed.code(), Code::already_exists);
  auto c = db_->lease();
  auto keys = db::all<std::string>(**c, "SELECT k FROM t ORDER BY k", {},
                                   [](const db::Row& r) { return r.text(0); });
  ASSERT_TRUE(keys.is_ok());
  EXPECT_EQ(*keys, std::vector<std::string>{"a"});
}

TEST_P(Database, AnExhaustedPoolAnswersUnavailableInsteadOfWaitingForever) {
  std::vector<db::Lease> held;
  for (int i = 0; i < 8; ++i) {
    auto l = db_->lease();
    ASSERT_TRUE(l.is_ok());
    held.push_back(std::move(l).value());
  }
  auto none = db_->lease({}, std::chrono::milliseconds(1));
  EXPECT_EQ(none.status().code(), Code::unavailable);
  EXPECT_NE(none.status().message().find("busy"), std::string::npos);
  held.pop_back();
  EXPECT_TRUE(db_->lease({}, std::chrono::milliseconds(1)).is_ok());
}

// A request waits for a connection no longer than its own deadline, stops
// waiting when its caller goes away, and is woken by a connection handed back.
// The pool's own bound is a minute here, so only the request can end a wait.
TEST_P(Database, ALeaseWaitEndsWithTheRequestsDeadlineOrCancellation) {
  std::vector<db::Lease> held;
  for (int i = 0; i < 8; ++i) held.push_back(std::move(db_->lease()).value());
  const auto minute = std::chrono::milliseconds(60'000);

  WorkContext late;
  late.deadline = Deadline::after(std::chrono::milliseconds(30));
  EXPECT_EQ(db_->lease(late, minute).status().code(), Code::deadline_exceeded);

  CancelSource gone;
  WorkContext cancelled;
  cancelled.cancel = gone.token();
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    gone.cancel();
  });
  EXPECT_EQ(db_->lease(cancelled, minute).status().code(), Code::cancelled);
  canceller.join();

  std::thread returner([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    held.pop_back();
  });
  EXPECT_TRUE(db_->lease({}, minute).is_ok());
  returner.join();

  // A request already cancelled does not take a free connection either.
  EXPECT_EQ(db_->transaction(cancelled, [](db::Connection&) { return Status::ok(); }).code(),
            Code::cancelled);
}

ATELIER_ON_EVERY_BACKEND(Database);

}  // namespace
}  // namespace atelier
