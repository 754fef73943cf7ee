// Daily usage counters: what the quota ledger writes behind and reads back.
#pragma once

#include <cstdint>
#include <string>

namespace atelier {

// Units and requests to add to one identity's counter for one UTC day.
struct UsageDelta {
  std::string identity;
  std::string day;  // YYYY-MM-DD
  std::int64_t units = 0;
  std::int64_t requests = 0;
};

struct Usage {
  std::int64_t units = 0;
  std::int64_t requests = 0;
};

}  // namespace atelier
