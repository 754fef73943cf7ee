#include "quota/redis_limits.h"

#include <map>

#include "core/mutex.h"

namespace atelier {
namespace {

// Block, then each enabled window; counts only when every window admits.
// K: block, violations, global minute, global hour, identity minute keys.
// A: now, the three limits, block after (violations), block seconds.
// Returns {0, 0, blocked_until} (blocked), {0, i} (window i refused), or
// {1, count_1, count_2, count_3} (admitted; -1 for a disabled window).
constexpr const char* kAdmitFn = R"lua(
local function admit(K, A)
  local now = tonumber(A[1])
  local blocked = tonumber(redis.call('GET', K[1]) or '0')
  if blocked > now then return {0, 0, blocked} end
  local ttl = {61, 3601, 61}
  local counted = {}
  for i = 1, 3 do
    local limit = tonumber(A[i + 1])
    if limit > 0 then
      local c = tonumber(redis.call('GET', K[i + 2]) or '0')
      if c >= limit then
        local after, block_s = tonumber(A[5]), tonumber(A[6])
        if after > 0 and block_s > 0 then
          local v = redis.call('INCR', K[2])
          redis.call('EXPIRE', K[2], 61)
          if v >= after then
            redis.call('SET', K[1], now + block_s, 'EX', block_s)
            redis.call('DEL', K[2])
          end
        end
        return {0, i}
      end
      counted[i] = true
    end
  end
  local out = {1}
  for i = 1, 3 do
    if counted[i] then
      out[i + 1] = redis.call('INCR', K[i + 2])
      redis.call('EXPIRE', K[i + 2], ttl[i])
    else
      out[i + 1] = -1
    end
  end
  return out
end
)lua";

// Reserves units of a day's quota. K: the day's key. A: units, limit (0:
// none), ttl, base units, base requests ("": the key must exist), count a
// request (1/0). Returns {-1} (not loaded yet), {0, used} (refused) or
// {1, used, requests}.
constexpr const char* kReserveFn = R"lua(
local function reserve(K, A)
  if redis.call('EXISTS', K[1]) == 0 then
    if A[4] == '' then return {-1} end
    redis.call('HSET', K[1], 'u', A[4], 'r', A[5])
    redis.call('EXPIRE', K[1], tonumber(A[3]))
  end
  local used = tonumber(redis.call('HGET', K[1], 'u'))
  local units, limit = tonumber(A[1]), tonumber(A[2])
  if units > 0 and limit > 0 and used + units > limit then return {0, used} end
  used = redis.call('HINCRBY', K[1], 'u', units)
  if A[6] == '1' then redis.call('HINCRBY', K[1], 'r', 1) end
  return {1, used, tonumber(redis.call('HGET', K[1], 'r'))}
end
)lua";

redis::Script& admit_script() {
  static redis::Script s(std::string(kAdmitFn) + "return admit(KEYS, ARGV)\n");
  return s;
}

redis::Script& reserve_script() {
  static redis::Script s(std::string(kReserveFn) + "return reserve(KEYS, ARGV)\n");
  return s;
}

// A metered request in one round trip: admit with KEYS[1..5], ARGV[1..6];
// when admitted, reserve with KEYS[6], ARGV[7..12]. Returns {admit's reply}
// (refused) or {admit's reply, reserve's reply}.
redis::Script& meter_script() {
  static redis::Script s(std::string(kAdmitFn) + kReserveFn + R"lua(
local a = admit({KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]},
                {ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]})
if a[1] ~= 1 then return {a} end
return {a, reserve({KEYS[6]}, {ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12]})}
)lua");
  return s;
}

// Gives units back, never below zero; nothing when the day's key is gone.
redis::Script& refund_script() {
  static redis::Script s(R"lua(
local used = tonumber(redis.call('HGET', KEYS[1], 'u') or '-1')
if used < 0 then return 0 end
local back = math.min(tonumber(ARGV[1]), used)
redis.call('HINCRBY', KEYS[1], 'u', -back)
return back
)lua");
  return s;
}

std::string window_key(const char* kind, std::int64_t now, std::int64_t len) {
  return std::string("atelier:rl:") + kind + ":" + std::to_string(now - now % len);
}

// The three windows, in the order the admit script checks them.
constexpr std::int64_t kWindowSeconds[3] = {60, 3600, 60};
constexpr Limit kWindowNames[3] = {Limit::global_minute, Limit::global_hour,
                                   Limit::identity_minute};

class RedisRateLimiter final : public RateLimiter {
 public:
  RedisRateLimiter(RateLimitConfig cfg, Clock clock, redis::Client& redis, RedisFailureMode mode,
                   std::shared_ptr<RedisHealth> health)
      : cfg_(cfg),
        clock_(clock),
        redis_(redis),
        mode_(mode),
        health_(std::move(health)),
        // clock_, declared (so initialised) before fallback_, already holds its copy.
        fallback_(make_memory_rate_limiter(cfg, std::move(clock))),
        limits_{cfg.global_per_minute, cfg.global_per_hour, cfg.identity_per_minute} {}

  Decision admit(const std::string& identity) override {
    const std::int64_t now = clock_();
    auto r = redis_.eval(admit_script(), keys(identity, now), args(now));
    if (!r.is_ok()) return unavailable(identity);
    return decide(*r, identity, now);
  }

  // The admit script's keys and arguments (the meter runs them too).
  std::vector<std::string> keys(const std::string& identity, std::int64_t now) const {
    return {"atelier:rl:blk:" + identity,
            "atelier:rl:vio:" + identity + ":" + std::to_string(now - now % 60),
            window_key("gm", now, 60), window_key("gh", now, 3600),
            "atelier:rl:im:" + identity + ":" + std::to_string(now - now % 60)};
  }
  std::vector<std::string> args(std::int64_t now) const {
    return {std::to_string(now),
            std::to_string(cfg_.global_per_minute),
            std::to_string(cfg_.global_per_hour),
            std::to_string(cfg_.identity_per_minute),
            std::to_string(cfg_.block_after_violations),
            std::to_string(cfg_.block_duration_s)};
  }

  // The decision in the admit script's reply.
  Decision decide(const redis::Reply& r, const std::string& identity, std::int64_t now) {
    if (r.type != redis::Reply::Type::array || r.elements.size() < 2) return unavailable(identity);
    const auto& e = r.elements;
    Decision d;
    if (e[0].as_int() == 0) {
      d.allowed = false;
      d.has_binding = true;
      const std::int64_t which = e[1].as_int();
      if (which == 0) {
        const std::int64_t until = e.size() > 2 ? e[2].as_int() : now + 1;
        d.binding = {Limit::blocked, 0, 0, until - now};
        d.retry_after_s = until - now;
      } else {
        const std::size_t i = static_cast<std::size_t>(std::clamp<std::int64_t>(which, 1, 3) - 1);
        const std::int64_t reset = kWindowSeconds[i] - now % kWindowSeconds[i];
        d.binding = {kWindowNames[i], limits_[i], 0, reset};
        d.retry_after_s = reset;
      }
      return d;
    }
    for (std::size_t i = 0; i < 3 && i + 1 < e.size(); ++i) {
      const std::int64_t count = e[i + 1].as_int(-1);
      if (count < 0) continue;
      LimitState st{kWindowNames[i], limits_[i], limits_[i] - count,
                    kWindowSeconds[i] - now % kWindowSeconds[i]};
      if (!d.has_binding || st.remaining < d.binding.remaining) {
        d.binding = st;
        d.has_binding = true;
      }
    }
    return d;
  }

  // Redis unreachable: this replica's own counters (open) or a refusal.
  Decision unavailable(const std::string& identity) {
    if (mode_ == RedisFailureMode::open) {
      health_->fallbacks.fetch_add(1);
      return fallback_->admit(identity);
    }
    health_->refusals.fetch_add(1);
    Decision d;
    d.allowed = false;
    d.has_binding = true;
    d.binding = {Limit::limiter_unavailable, 0, 0, 1};
    d.retry_after_s = 1;
    return d;
  }

  Clock clock() const { return clock_; }

  std::vector<LimitState> state(const std::string& identity) override {
    const std::int64_t now = clock_();
    auto k = keys(identity, now);
    auto r = redis_.command({"MGET", k[0], k[2], k[3], k[4]});
    if (!r.is_ok() || r->elements.size() != 4) return fallback_->state(identity);
    std::vector<LimitState> out;
    const std::int64_t blocked = r->elements[0].as_int(0);
    if (blocked > now) out.push_back({Limit::blocked, 0, 0, blocked - now});
    for (std::size_t i = 0; i < 3; ++i) {
      if (limits_[i] <= 0) continue;
      out.push_back({kWindowNames[i], limits_[i], limits_[i] - r->elements[i + 1].as_int(0),
                     kWindowSeconds[i] - now % kWindowSeconds[i]});
    }
    return out;
  }

 private:
  const RateLimitConfig cfg_;
  const Clock clock_;
  redis::Client& redis_;
  const RedisFailureMode mode_;
  const std::shared_ptr<RedisHealth> health_;
  const std::unique_ptr<RateLimiter> fallback_;  // open mode, while Redis is unreachable
  const std::int64_t limits_[3];                 // by window, as kWindowNames
};

class RedisQuotaLedger final : public QuotaLedger {
 public:
  RedisQuotaLedger(UsageRepository& store, Clock clock, redis::Client& redis, RedisFailureMode mode,
                   std::shared_ptr<RedisHealth> health)
      : store_(store),
        clock_(clock),
        redis_(redis),
        mode_(mode),
        health_(std::move(health)),
        // clock_, declared (so initialised) before fallback_, already holds its copy.
        fallback_(make_memory_quota_ledger(store, std::move(clock))) {}

  Decision reserve(const std::string& identity, std::int64_t units, std::int64_t limit) override {
    const std::int64_t now = clock_();
    const std::string day = utc_day(now);
    const std::int64_t reset = seconds_to_utc_midnight(now);
    auto r = run_reserve(identity, day, units, limit, reset, true);
    if (!r.is_ok()) return unavailable(identity, units, limit);
    return decide(*r, identity, day, units, limit, reset);
  }

  // The reserve script's key and arguments, without a base to load (the
  // meter runs them too).
  static std::string key(const std::string& identity, const std::string& day) {
    return "atelier:q:" + identity + ":" + day;
  }
  static std::vector<std::string> args(std::int64_t units, std::int64_t limit, std::int64_t reset,
                                       bool count) {
    return {std::to_string(units), std::to_string(limit), std::to_string(reset + 3600), "", "",
            count ? "1" : "0"};
  }
  // Whether a reply says the day's counter is not in Redis (to be loaded).
  static bool not_loaded(const redis::Reply& r) {
    return r.type == redis::Reply::Type::array && !r.elements.empty() &&
           r.elements[0].as_int() == -1;
  }

  // The decision in the reserve script's reply; a granted one is written
  // behind to the database.
  Decision decide(const redis::Reply& r, const std::string& identity, const std::string& day,
                  std::int64_t units, std::int64_t limit, std::int64_t reset) {
    if (r.type != redis::Reply::Type::array || r.elements.size() < 2)
      return unavailable(identity, units, limit);
    const auto& e = r.elements;
    const std::int64_t used = e[1].as_int();
    Decision d;
    d.has_binding = limit > 0;
    if (e[0].as_int() == 0) {
      d.allowed = false;
      d.binding = {Limit::daily_quota, limit, limit - used, reset};
      d.retry_after_s = reset;
      return d;
    }
    add_pending(identity, day, {units, 1});
    if (limit > 0) d.binding = {Limit::daily_quota, limit, limit - used, reset};
    return d;
  }

  // Redis unreachable: this replica's own ledger (open) or a refusal.
  Decision unavailable(const std::string& identity, std::int64_t units, std::int64_t limit) {
    if (mode_ == RedisFailureMode::open) {
      health_->fallbacks.fetch_add(1);
      return fallback_->reserve(identity, units, limit);
    }
    health_->refusals.fetch_add(1);
    return usage_store_unavailable(limit);
  }

  void refund(const std::string& identity, const std::string& day, std::int64_t units) override {
    auto r = redis_.eval(refund_script(), {key(identity, day)}, {std::to_string(units)});
    if (!r.is_ok()) {
      // Reserved in Redis, or in the fallback while Redis was away.
      if (mode_ == RedisFailureMode::open) fallback_->refund(identity, day, units);
      return;
    }
    add_pending(identity, day, {-units, 0});
  }

  Result<Usage> today(const std::string& identity) override {
    const std::int64_t now = clock_();
    const std::string day = utc_day(now);
    auto r = run_reserve(identity, day, 0, 0, seconds_to_utc_midnight(now), false);
    if (!r.is_ok()) {
      if (mode_ == RedisFailureMode::open) return fallback_->today(identity);
      return Status::unavailable("usage store unavailable");
    }
    const auto& e = r->elements;
    return Usage{e[1].as_int(), e.size() > 2 ? e[2].as_int() : 0};
  }

  Status flush() override {
    std::map<std::pair<std::string, std::string>, Usage> batch;
    {
      MutexLock lock(mu_);
      batch.swap(pending_);
    }
    Status fb = fallback_->flush();
    if (batch.empty()) return fb;
    std::vector<UsageDelta> deltas;
    deltas.reserve(batch.size());
    for (auto& [k, u] : batch) deltas.push_back({k.first, k.second, u.units, u.requests});
    Status st = store_.add_usage(deltas);
    if (!st.is_ok()) {
      for (auto& [k, u] : batch) add_pending(k.first, k.second, u);
      return st;
    }
    return fb;
  }

  void forget(const std::string& identity) override {
    fallback_->forget(identity);
    {
      MutexLock lock(mu_);
      std::erase_if(pending_, [&](const auto& p) { return p.first.first == identity; });
    }
    const std::string day = utc_day(clock_());
    (void)redis_.command({"DEL", key(identity, day)});  // expires by itself should this fail
  }

 private:
  // The reserve script, loading the day's stored total when Redis has none.
  Result<redis::Reply> run_reserve(const std::string& identity, const std::string& day,
                                   std::int64_t units, std::int64_t limit, std::int64_t reset,
                                   bool count) {
    const std::vector<std::string> keys = {key(identity, day)};
    std::vector<std::string> args = RedisQuotaLedger::args(units, limit, reset, count);
    ATELIER_ASSIGN_OR_RETURN(auto r, redis_.eval(reserve_script(), keys, args));
    if (not_loaded(r)) {
      ATELIER_ASSIGN_OR_RETURN(Usage stored, store_.get_usage(identity, day));
      {
        // This replica's usage not yet written is part of the total.
        MutexLock lock(mu_);
        if (auto it = pending_.find({identity, day}); it != pending_.end()) {
          stored.units += it->second.units;
          stored.requests += it->second.requests;
        }
      }
      args[3] = std::to_string(std::max<std::int64_t>(0, stored.units));
      args[4] = std::to_string(std::max<std::int64_t>(0, stored.requests));
      ATELIER_ASSIGN_OR_RETURN(r, redis_.eval(reserve_script(), keys, args));
    }
    if (r.type != redis::Reply::Type::array || r.elements.size() < 2)
      return Status::unavailable("redis: unexpected reply to the quota script");
    return r;
  }

  void add_pending(const std::string& identity, const std::string& day, const Usage& u)
      EXCLUDES(mu_) {
    MutexLock lock(mu_);
    auto& p = pending_[{identity, day}];
    p.units += u.units;
    p.requests += u.requests;
  }

  UsageRepository& store_;
  const Clock clock_;
  redis::Client& redis_;
  const RedisFailureMode mode_;
  const std::shared_ptr<RedisHealth> health_;
  const std::unique_ptr<QuotaLedger> fallback_;
  Mutex mu_;
  std::map<std::pair<std::string, std::string>, Usage> pending_ GUARDED_BY(mu_);  // not yet stored
};

// Both checks of a metered request in one script: one round trip instead of
// two. The day's first request (its counter not in Redis yet) takes the
// ledger's own path, which loads the stored total.
class RedisMeter final : public Meter {
 public:
  RedisMeter(RedisRateLimiter& limiter, RedisQuotaLedger& ledger, redis::Client& redis)
      : limiter_(limiter), ledger_(ledger), redis_(redis) {}

  Metered check(const std::string& identity, bool rate_limited, std::int64_t units,
                std::int64_t limit) override {
    Metered m;
    if (!rate_limited || units <= 0) {  // one check: one script already
      if (rate_limited) m.rate = limiter_.admit(identity);
      if (m.rate.allowed && units > 0) m.quota = ledger_.reserve(identity, units, limit);
      return m;
    }
    const std::int64_t now = limiter_.clock()();
    const std::string day = utc_day(now);
    const std::int64_t reset = seconds_to_utc_midnight(now);
    auto keys = limiter_.keys(identity, now);
    keys.push_back(RedisQuotaLedger::key(identity, day));
    auto args = limiter_.args(now);
    for (auto& a : RedisQuotaLedger::args(units, limit, reset, true)) args.push_back(std::move(a));
    auto r = redis_.eval(meter_script(), keys, args);
    if (!r.is_ok() || r->type != redis::Reply::Type::array || r->elements.empty()) {
      m.rate = limiter_.unavailable(identity);
      if (m.rate.allowed) m.quota = ledger_.unavailable(identity, units, limit);
      return m;
    }
    m.rate = limiter_.decide(r->elements[0], identity, now);
    if (!m.rate.allowed) return m;
    if (r->elements.size() < 2 || RedisQuotaLedger::not_loaded(r->elements[1])) {
      m.quota = ledger_.reserve(identity, units, limit);
    } else {
      m.quota = ledger_.decide(r->elements[1], identity, day, units, limit, reset);
    }
    return m;
  }

 private:
  RedisRateLimiter& limiter_;
  RedisQuotaLedger& ledger_;
  redis::Client& redis_;
};

}  // namespace

RedisLimits make_redis_limits(RateLimitConfig cfg, UsageRepository& store, Clock clock,
                              redis::Client& redis, RedisFailureMode mode,
                              std::shared_ptr<RedisHealth> health) {
  auto limiter = std::make_unique<RedisRateLimiter>(cfg, clock, redis, mode, health);
  auto ledger =
      std::make_unique<RedisQuotaLedger>(store, std::move(clock), redis, mode, std::move(health));
  RedisLimits out;
  out.meter = std::make_unique<RedisMeter>(*limiter, *ledger, redis);
  out.limiter = std::move(limiter);
  out.ledger = std::move(ledger);
  return out;
}

std::unique_ptr<RateLimiter> make_redis_rate_limiter(RateLimitConfig cfg, Clock clock,
                                                     redis::Client& redis, RedisFailureMode mode,
                                                     std::shared_ptr<RedisHealth> health) {
  return std::make_unique<RedisRateLimiter>(cfg, std::move(clock), redis, mode, std::move(health));
}

std::unique_ptr<QuotaLedger> make_redis_quota_ledger(UsageRepository& store, Clock clock,
                                                     redis::Client& redis, RedisFailureMode mode,
                                                     std::shared_ptr<RedisHealth> health) {
  return std::make_unique<RedisQuotaLedger>(store, std::move(clock), redis, mode,
                                            std::move(health));
}

}  // namespace atelier
