// `atelier db copy --from URL --to URL`: moves an installation's rows from one
// database to another, typically an embedded SQLite file to the PostgreSQL
// that replicas share. Both are migrated first. The tables and columns come
// from the source's own catalog (SQLite: sqlite_master, pragma_table_info;
// PostgreSQL: information_schema.columns of the current schema), so a table a
// migration adds is copied without being listed anywhere; only each
// database's bookkeeping is left out (schema_migrations, SQLite's sqlite_*
// tables). Tables go in foreign-key order; ids are kept (so keys, JWTs,
// cursors and index files stay valid) and the target's id sequences are moved
// past every id the source ever gave, deleted rows included. Idempotent: rows
// already in the target are left alone, so a rerun copies nothing. Verified
// by counts: every table must hold as many rows in the target as in the
// source.
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
