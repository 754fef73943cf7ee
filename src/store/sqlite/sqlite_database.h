// SQLite behind the database seam: WAL, foreign keys, a busy timeout, one
// connection per pool slot, statements prepared once per connection.
#pragma once

#include <string>

#include "store/database.h"

namespace atelier::db {

// Opens (creating) the database file at `path` with `pool` connections.
Result<DatabasePtr> open_sqlite(const std::string& path, int pool);

}  // namespace atelier::db
