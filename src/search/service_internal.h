// Helpers shared by SearchService's source files (service.cpp,
// service_ingest.cpp, service_query.cpp, service_follow.cpp); not part of
// the search folder's interface, which is service.h.
#pragma once

#include "search/service.h"

namespace atelier::search::internal {

inline bool may_read(const Collection& c, const Caller& caller) {
  return caller.admin || c.visibility == "public" || (!caller.anonymous && c.owner == caller.id);
}

}  // namespace atelier::search::internal
