// SQLite implementation of Store: WAL journal, foreign keys on, busy timeout,
// versioned migrations in one transaction each.
//
// Thread safety: a small pool of connections; each call takes one for its
// duration. WAL lets readers run beside the single writer; writers wait on
// the busy timeout rather than failing.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace atelier {

// Opens (creating if needed) the database file. `pool_size` connections.
Result<StorePtr> open_sqlite_store(const std::string& path, int pool_size = 4);

}  // namespace atelier
