// The schema, as versioned migrations written once for both dialects; where
// the SQL differs it names a dialect token (db::Migration lists them).
#pragma once

#include <vector>

#include "store/database.h"

namespace atelier {

const std::vector<db::Migration>& schema_migrations();

}  // namespace atelier
