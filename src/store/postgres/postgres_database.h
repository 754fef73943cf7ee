// PostgreSQL behind the database seam, on libpq: one connection per pool
// slot, statements prepared once per connection, rows streamed in
// single-row mode, bytea as binary parameters.
#pragma once

#include <string>

#include "store/database.h"

namespace atelier::db {

// Connects `pool` times to `url` (postgresql://user:pass@host:port/db).
Result<DatabasePtr> open_postgres(const std::string& url, int pool);

}  // namespace atelier::db
