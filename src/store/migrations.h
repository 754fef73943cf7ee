// The schema, as versioned migrations for both dialects (a PostgreSQL text
// only where the SQL differs: identity columns, bytea, double precision,
// byte-order collation for keys that page by id).
#pragma once

#include <vector>

#include "store/database.h"

namespace atelier {

const std::vector<db::Migration>& schema_migrations();

}  // namespace atelier
