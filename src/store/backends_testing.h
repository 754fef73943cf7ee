// Test support: every repository's conformance suite runs on each backend,
// as LevelDB's db_test runs its suite under every option set. SQLite always;
// PostgreSQL when ATELIER_TEST_POSTGRES_URL names a server (the test command
// starts a throwaway cluster and sets it, with ATELIER_REQUIRE_POSTGRES=1 so
// that a missing server fails rather than skips). Each test gets an empty
// database: a fresh SQLite file, or a fresh PostgreSQL schema.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "store/database.h"
#include "store/migrations.h"

namespace atelier::testing_support {

inline std::string postgres_url() {
  const char* u = std::getenv("ATELIER_TEST_POSTGRES_URL");
  return u ? u : "";
}

class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string name = std::to_string(std::random_device{}());
    if (GetParam() == "postgres") {
      const std::string base = postgres_url();
      if (base.empty()) {
        const char* req = std::getenv("ATELIER_REQUIRE_POSTGRES");
        if (req && std::string(req) == "1") FAIL() << "ATELIER_TEST_POSTGRES_URL is not set";
        GTEST_SKIP() << "no PostgreSQL server (set ATELIER_TEST_POSTGRES_URL)";
      }
      schema_ = "t" + name;
      auto admin = db::open_database(base, 1);
      ASSERT_TRUE(admin.is_ok()) << admin.status().message();
      admin_ = std::move(admin).value();
      auto lease = admin_->lease();
      ASSERT_TRUE(lease.is_ok());
      ASSERT_TRUE((*lease)->script("CREATE SCHEMA " + schema_).is_ok());
      url_ = base + (base.find('?') == std::string::npos ? "?" : "&") + "options=-csearch_path%3D" +
             schema_;
    } else {
      dir_ = std::filesystem::path(::testing::TempDir()) / ("backend-" + name);
      std::filesystem::create_directories(dir_);
      url_ = "sqlite:" + (dir_ / "t.db").string();
    }
    auto opened = db::open_database(url_, 8);
    ASSERT_TRUE(opened.is_ok()) << opened.status().message();
    db_ = std::move(opened).value();
    auto v = db_->migrate(schema_migrations());
    ASSERT_TRUE(v.is_ok()) << v.status().message();
  }
  void TearDown() override {
    db_.reset();
    if (admin_) {
      auto lease = admin_->lease();
      if (lease.is_ok()) (void)(*lease)->script("DROP SCHEMA " + schema_ + " CASCADE");
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  std::string url_;
  db::DatabasePtr db_;

 private:
  std::string schema_;
  db::DatabasePtr admin_;
  std::filesystem::path dir_;
};

}  // namespace atelier::testing_support

#define ATELIER_ON_EVERY_BACKEND(Suite)                                              \
  INSTANTIATE_TEST_SUITE_P(Backends, Suite, ::testing::Values("sqlite", "postgres"), \
                           [](const auto& info) { return info.param; })
