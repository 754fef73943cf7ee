#include "app/startup.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "store/migrations.h"

namespace fs = std::filesystem;

namespace atelier::app {

// Opens the database (database_url, or SQLite under data_dir, creating the
// folder) and migrates it. The pool has a connection for every thread that
// may use the database at once, so a lease waits only on another process.
Result<db::DatabasePtr> open_db(const Config& c, bool run_migrations) {
  std::error_code ec;
  fs::create_directories(c.data_dir, ec);
  if (ec) return Status::unavailable("cannot create data dir " + c.data_dir + ": " + ec.message());
  const int threads = c.workers + c.io_threads + c.inference_workers + c.design_workers + 2;
  const int pool = c.database_pool > 0 ? c.database_pool : std::max(4, threads);
  const std::string url = c.database_url.empty()
                              ? "sqlite:" + (fs::path(c.data_dir) / "atelier.db").string()
                              : c.database_url;
  ATELIER_ASSIGN_OR_RETURN(db::DatabasePtr database, db::open_database(url, pool));
  if (run_migrations) {
    auto v = database->migrate(schema_migrations());
    if (!v.is_ok()) return v.status();
  }
  return database;
}

// The HS256 key: from configuration, or (development) generated once and
// kept in the data dir so tokens survive restarts.
Result<std::string> jwt_secret(const Config& c) {
  if (!c.jwt_secret.empty()) return c.jwt_secret;
  const auto path = fs::path(c.data_dir) / "jwt.secret";
  {
    std::ifstream in(path);
    std::string s;
    if (in && std::getline(in, s) && s.size() >= 32) return s;
  }
  std::string s = random_hex(32);
  {
    std::ofstream out(path, std::ios::trunc);
    if (!out) return Status::unavailable("cannot write " + path.string());
    out << s << "\n";
  }
  ::chmod(path.c_str(), 0600);
  return s;
}

PasswordParams password_params(const Config& c) {
  return {static_cast<unsigned long long>(c.argon2_ops),
          static_cast<std::size_t>(c.argon2_mem_kib) * 1024};
}

int fail(const Status& st) {
  std::cerr << "error: " << st.message() << "\n";
  return st.code() == Code::invalid_argument ? 2 : 1;
}

}  // namespace atelier::app
