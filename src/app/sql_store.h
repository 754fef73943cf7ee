// Store over the database seam: the repositories of each capability
// (accounts, usage, collections, designs) behind the Store interface the
// capabilities' services still take. SQL is written once in the
// repositories; the database URL chooses SQLite or PostgreSQL.
//
// Thread safety: as Store.
#pragma once

#include <memory>
#include <string>

#include "store/database.h"
#include "store/store.h"

namespace atelier {

// "postgresql://user:pass@host:port/db", "sqlite:PATH" or a bare file path;
// `pool` connections (SQLite: one writer at a time whatever the pool).
Result<StorePtr> open_store(const std::string& url, int pool = 4);
// The embedded default: the SQLite file at `path`.
Result<StorePtr> open_sqlite_store(const std::string& path, int pool = 4);
// A store over an open database (tests pick the backend this way).
StorePtr make_sql_store(db::DatabasePtr database);

}  // namespace atelier
