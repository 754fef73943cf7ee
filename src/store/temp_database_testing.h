// Test support: a migrated SQLite database in a fresh temporary folder, with
// one repository over it (for unit tests of services that take a repository;
// conformance across backends lives in backends_testing.h).
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>

#include "store/database.h"
#include "store/migrations.h"

namespace atelier::testing_support {

template <class Repository>
struct TempRepository {
  std::filesystem::path dir;
  db::DatabasePtr db;
  std::unique_ptr<Repository> repo;

  explicit TempRepository(const std::string& name) {
    static std::atomic<int> seq{0};
    dir = std::filesystem::path(::testing::TempDir()) /
          ("repo_" + std::to_string(::getpid()) + "_" + std::to_string(seq++) + "_" + name);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    auto opened = db::open_database("sqlite:" + (dir / "t.db").string(), 4);
    EXPECT_TRUE(opened.is_ok()) << opened.status().message();
    db = std::move(opened).value();
    EXPECT_TRUE(db->migrate(schema_migrations()).is_ok());
    repo = std::make_unique<Repository>(*db);
  }
  ~TempRepository() {
    repo.reset();
    db.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  Repository* operator->() const { return repo.get(); }
  Repository& operator*() const { return *repo; }
};

}  // namespace atelier::testing_support
