// What serving and the CLI commands both start from: the database, the
// token secret, the password hashing parameters, and how a command fails.
#pragma once

#include <string>

#include "config/config.h"
#include "core/status.h"
#include "identity/crypto.h"
#include "store/database.h"

namespace atelier::app {

// Where replicas publish revoked keys and forgotten users (Authenticator::apply).
constexpr const char* kRevocationChannel = "atelier:revocations";

// Opens the database (database_url, or SQLite under data_dir, creating the
// folder) and migrates it when asked.
Result<db::DatabasePtr> open_db(const Config& c, bool run_migrations);
// The HS256 key: from configuration, or (development) generated once and
// kept in the data dir so tokens survive restarts.
Result<std::string> jwt_secret(const Config& c);
PasswordParams password_params(const Config& c);
// Prints the error; the exit code: 2 for bad arguments, else 1.
int fail(const Status& st);

}  // namespace atelier::app
