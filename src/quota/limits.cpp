#include "quota/limits.h"

namespace atelier {

const char* limit_name(Limit l) {
  switch (l) {
    case Limit::global_minute:
      return "global_minute";
    case Limit::global_hour:
      return "global_hour";
    case Limit::identity_minute:
      return "identity_minute";
    case Limit::daily_quota:
      return "daily_quota";
    case Limit::blocked:
      return "blocked";
    case Limit::limiter_unavailable:
      return "limiter_unavailable";
    case Limit::usage_store_unavailable:
      return "usage_store_unavailable";
  }
  return "unknown";
}

std::string describe_limit(const LimitState& l) {
  const std::string n = std::to_string(l.limit);
  switch (l.name) {
    case Limit::blocked:
      return "caller is blocked after repeated limit violations";
    case Limit::global_minute:
      return "server-wide limit of " + n + " requests per minute reached";
    case Limit::global_hour:
      return "server-wide limit of " + n + " requests per hour reached";
    case Limit::identity_minute:
      return "limit of " + n + " requests per minute reached";
    case Limit::daily_quota:
      return "daily quota of " + n + " cost units reached";
    case Limit::limiter_unavailable:
      return "rate limiter unavailable";
    case Limit::usage_store_unavailable:
      return "usage store unavailable";
  }
  return limit_name(l.name);
}

}  // namespace atelier
