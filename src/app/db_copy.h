// `atelier db copy --from URL --to URL`: moves an installation's rows (users,
// keys, usage, collections, documents, rooms, designs) from one database to
// another, typically an embedded SQLite file to the PostgreSQL that replicas
// share. Both are migrated first; ids are kept (so keys, JWTs, cursors and
// index files stay valid) and PostgreSQL's identity sequences are moved past
// them. Idempotent: rows already in the target are left alone, so a rerun
// copies nothing. Verified by counts: every table must hold as many rows in
// the target as in the source.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "core/status.h"

namespace atelier::app {

struct TableCopy {
  std::string table;
  std::int64_t source = 0, copied = 0, target = 0;
};

// Progress and the per-table figures go to `out`.
Result<std::vector<TableCopy>> copy_database(const std::string& from, const std::string& to,
                                             std::ostream& out);

}  // namespace atelier::app
