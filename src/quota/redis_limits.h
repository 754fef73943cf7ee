// RateLimiter and QuotaLedger in Redis, for many replicas: every replica
// reads and writes the same counters, so limits and quotas are exact across
// the cluster. Each check is one Lua script (one round trip; a quota's first
// use of the day in Redis loads the stored total first), and the meter runs a
// request's rate check and quota reservation as one script.
//
// Keys (one Redis, not a Redis Cluster: a script touches several keys):
//   atelier:rl:gm:<minute>, atelier:rl:gh:<hour>          server-wide windows
//   atelier:rl:im:<identity>:<minute>                     per-identity window
//   atelier:rl:blk:<identity>, atelier:rl:vio:<identity>:<minute>   blocks
//   atelier:q:<identity>:<day>                            {u: units, r: requests}
//   atelier:streams:<identity>     open streams: a sorted set of slots scored by
//                                  when their lease ends (renewed while open)
// Windows are the same fixed UTC-aligned ones as the in-process limiter's,
// computed from the injected clock; keys expire after their window.
//
// Durability: Redis holds the day's live counters; each replica writes the
// usage it charged behind to the database (flush(), as the in-process
// ledger does), so the stored totals add up across replicas. After Redis
// loses a day's key, it is reloaded from the database, which may lag by the
// replicas' last second of unflushed usage.
//
// Redis unreachable: with FailureMode::closed the limiter refuses with the
// binding "limiter_unavailable" and the ledger with "usage_store_unavailable"
// (the pipeline answers 503 + Retry-After); with FailureMode::open both fall
// back to in-process counters on this replica (counted in
// RedisHealth::fallbacks) until Redis answers again.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>

#include "quota/concurrency.h"
#include "quota/limits.h"
#include "store/redis/redis.h"

namespace atelier {

enum class RedisFailureMode { closed, open };

// What the limits report about Redis: read by metrics and readiness.
struct RedisHealth {
  std::atomic<std::uint64_t> fallbacks{0};  // checks answered in-process (open mode)
  std::atomic<std::uint64_t> refusals{0};   // checks refused for want of Redis (closed mode)
};

// The limiter, the ledger, and a meter that runs both checks of a metered
// request in one script (one round trip). The meter refers to the other two.
struct RedisLimits {
  std::unique_ptr<RateLimiter> limiter;
  std::unique_ptr<QuotaLedger> ledger;
  std::unique_ptr<Meter> meter;
};
RedisLimits make_redis_limits(RateLimitConfig cfg, UsageRepository& store, Clock clock,
                              redis::Client& redis, RedisFailureMode mode,
                              std::shared_ptr<RedisHealth> health);
std::unique_ptr<RateLimiter> make_redis_rate_limiter(RateLimitConfig cfg, Clock clock,
                                                     redis::Client& redis, RedisFailureMode mode,
                                                     std::shared_ptr<RedisHealth> health);
std::unique_ptr<QuotaLedger> make_redis_quota_ledger(UsageRepository& store, Clock clock,
                                                     redis::Client& redis, RedisFailureMode mode,
                                                     std::shared_ptr<RedisHealth> health);

// Slots held on every replica together. Each slot has a lease of `lease`
// that this process renews while the slot is held, so the slots of a replica
// that dies lapse within one lease. `now_ms`: Unix time in milliseconds.
std::unique_ptr<ConcurrencyLimiter> make_redis_concurrency_limiter(
    redis::Client& redis, RedisFailureMode mode, std::shared_ptr<RedisHealth> health,
    std::function<std::int64_t()> now_ms, std::chrono::seconds lease = std::chrono::seconds(30));

}  // namespace atelier
