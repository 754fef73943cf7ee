// Rate limits and daily quotas, behind two small interfaces: in-process
// counters for one process (memory_limits.cpp), Redis for many replicas
// (redis_limits.h). A Meter runs both checks of a request in one call.
//
// RateLimiter: fixed UTC-aligned windows (minute, hour). Order of checks:
//   1. a block (set after `block_after_violations` rejections within one
//      minute) refuses everything until it ends;
//   2. global per-minute and per-hour windows (all callers together);
//   3. the per-identity per-minute window.
// A request is counted in every window only when all of them admit it, so a
// refused request consumes nothing.
//
// QuotaLedger: daily cost units per identity and UTC day. reserve() is atomic:
// when many requests race for the last units exactly the limit is granted.
// refund() gives units back (failed or cancelled work). One counter drives
// both enforcement and the "remaining" figures.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/status.h"
#include "quota/usage_repository.h"

namespace atelier {

// Unix time in seconds; injectable for tests.
using Clock = std::function<std::int64_t()>;
Clock system_clock_seconds();
std::string utc_day(std::int64_t unix_s);
std::int64_t seconds_to_utc_midnight(std::int64_t unix_s);

// The limits a request can meet, and the two refusals because they cannot be
// counted now.
enum class Limit {
  global_minute,
  global_hour,
  identity_minute,
  daily_quota,
  blocked,  // after repeated violations
  limiter_unavailable,
  usage_store_unavailable,
};
// Its name in problem bodies, metrics and GET /v1/limits ("identity_minute").
const char* limit_name(Limit l);

struct LimitState {
  Limit name = Limit::daily_quota;
  std::int64_t limit = 0;
  std::int64_t remaining = 0;
  std::int64_t reset_s = 0;  // seconds until the window resets
};

struct Decision {
  bool allowed = true;
  // The most restrictive limit that applied (for RateLimit-* headers), or the
  // one that refused.
  LimitState binding;
  std::int64_t retry_after_s = 0;
  bool has_binding = false;
};

struct RateLimitConfig {
  std::int64_t global_per_minute = 0;
  std::int64_t global_per_hour = 0;
  std::int64_t identity_per_minute = 0;
  std::int64_t block_after_violations = 0;
  std::int64_t block_duration_s = 0;
};

class RateLimiter {
 public:
  virtual ~RateLimiter() = default;
  virtual Decision admit(const std::string& identity) = 0;
  // Current windows and block for one identity, without counting.
  virtual std::vector<LimitState> state(const std::string& identity) = 0;
};

class QuotaLedger {
 public:
  virtual ~QuotaLedger() = default;
  // limit 0 = unlimited (still counted).
  virtual Decision reserve(const std::string& identity, std::int64_t units, std::int64_t limit) = 0;
  virtual void refund(const std::string& identity, const std::string& day, std::int64_t units) = 0;
  virtual Result<Usage> today(const std::string& identity) = 0;
  // Writes counted usage to durable storage.
  virtual Status flush() = 0;
  // The identity's account was erased: its counters and unwritten usage go
  // (the store drops usage of erased owners that is still in flight).
  virtual void forget(const std::string& identity) = 0;
};

// A metered request's checks in one call: its rate limits, then (when they
// admit it, and `units` > 0) `units` of the identity's daily quota, which a
// refused request does not reserve. `quota` is allowed without a binding when
// not asked for. Counters held remotely are checked in one round trip.
struct Metered {
  Decision rate;
  Decision quota;
};
class Meter {
 public:
  virtual ~Meter() = default;
  virtual Metered check(const std::string& identity, bool rate_limited, std::int64_t units,
                        std::int64_t limit) = 0;
};
// One check after the other (the in-process counters need nothing more).
std::unique_ptr<Meter> make_meter(RateLimiter& limiter, QuotaLedger& ledger);

// What a refusal by `l` says to the caller ("per-minute limit of 60 requests
// reached"): the one wording for HTTP problems and socket errors.
std::string describe_limit(const LimitState& l);

// A refusal because usage could not be read or counted (the store or Redis
// is unreachable), so the quota cannot be enforced exactly: the pipeline
// answers it with 503 + Retry-After.
Decision usage_store_unavailable(std::int64_t limit);

std::unique_ptr<RateLimiter> make_memory_rate_limiter(RateLimitConfig cfg, Clock clock);
// Usage is loaded from and written behind to `store` (flush() every second
// from the composition root and at shutdown).
std::unique_ptr<QuotaLedger> make_memory_quota_ledger(UsageRepository& store, Clock clock);

}  // namespace atelier
