// In-process RateLimiter and QuotaLedger: one mutex each, exact counts.
#include <ctime>
#include <map>
#include <unordered_map>

#include "core/mutex.h"
#include "quota/limits.h"

namespace atelier {

Clock system_clock_seconds() {
  return [] {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
}

std::string utc_day(std::int64_t unix_s) {
  // Called on every charged request: format each day once per thread.
  thread_local std::int64_t cached_day = -1;
  thread_local std::string cached;
  const std::int64_t day = unix_s >= 0 ? unix_s / 86400 : (unix_s - 86399) / 86400;
  if (day != cached_day) {
    std::time_t t = static_cast<std::time_t>(unix_s);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    cached = buf;
    cached_day = day;
  }
  return cached;
}

std::int64_t seconds_to_utc_midnight(std::int64_t unix_s) {
  return 86400 - (unix_s % 86400);
}

namespace {

struct Window {
  std::int64_t start = -1;
  std::int64_t count = 0;
  void roll(std::int64_t now, std::int64_t len) {
    std::int64_t s = now - now % len;
    if (s != start) {
      start = s;
      count = 0;
    }
  }
};

class MemoryRateLimiter final : public RateLimiter {
 public:
  MemoryRateLimiter(RateLimitConfig cfg, Clock clock) : cfg_(cfg), clock_(std::move(clock)) {}

  Decision admit(const std::string& identity) override {
    MutexLock lock(mu_);
    const std::int64_t now = clock_();
    if (++admits_ % 4096 == 0) prune(now);
    Entry& e = entries_[identity];
    Decision d;
    if (e.blocked_until > now) {
      d.allowed = false;
      d.has_binding = true;
      d.binding = {Limit::blocked, 0, 0, e.blocked_until - now};
      d.retry_after_s = e.blocked_until - now;
      return d;
    }
    global_minute_.roll(now, 60);
    global_hour_.roll(now, 3600);
    e.minute.roll(now, 60);

    LimitState states[3];
    Window* windows[3];
    int n = 0;
    auto add = [&](Limit name, std::int64_t limit, Window& w, std::int64_t len) {
      if (limit <= 0) return;
      states[n] = {name, limit, limit - w.count, w.start + len - now};
      windows[n] = &w;
      ++n;
    };
    add(Limit::global_minute, cfg_.global_per_minute, global_minute_, 60);
    add(Limit::global_hour, cfg_.global_per_hour, global_hour_, 3600);
    add(Limit::identity_minute, cfg_.identity_per_minute, e.minute, 60);

    for (int i = 0; i < n; ++i) {
      if (states[i].remaining <= 0) {
        d.allowed = false;
        d.has_binding = true;
        d.binding = states[i];
        d.binding.remaining = 0;
        d.retry_after_s = states[i].reset_s;
        note_violation(e, now);
        return d;
      }
    }
    for (int i = 0; i < n; ++i) {
      ++windows[i]->count;
      --states[i].remaining;
      if (!d.has_binding || states[i].remaining < d.binding.remaining) {
        d.binding = states[i];
        d.has_binding = true;
      }
    }
    return d;
  }

  std::vector<LimitState> state(const std::string& identity) override {
    MutexLock lock(mu_);
    const std::int64_t now = clock_();
    std::vector<LimitState> out;
    Entry e;
    if (auto it = entries_.find(identity); it != entries_.end()) e = it->second;
    if (e.blocked_until > now) out.push_back({Limit::blocked, 0, 0, e.blocked_until - now});
    Window gm = global_minute_, gh = global_hour_;
    gm.roll(now, 60);
    gh.roll(now, 3600);
    e.minute.roll(now, 60);
    if (cfg_.global_per_minute > 0) {
      out.push_back({Limit::global_minute, cfg_.global_per_minute,
                     cfg_.global_per_minute - gm.count, gm.start + 60 - now});
    }
    if (cfg_.global_per_hour > 0) {
      out.push_back({Limit::global_hour, cfg_.global_per_hour, cfg_.global_per_hour - gh.count,
                     gh.start + 3600 - now});
    }
    if (cfg_.identity_per_minute > 0) {
      out.push_back({Limit::identity_minute, cfg_.identity_per_minute,
                     cfg_.identity_per_minute - e.minute.count, e.minute.start + 60 - now});
    }
    return out;
  }

 private:
  struct Entry {
    Window minute;
    Window violations;
    std::int64_t blocked_until = 0;
  };

  void note_violation(Entry& e, std::int64_t now) REQUIRES(mu_) {
    if (cfg_.block_after_violations <= 0 || cfg_.block_duration_s <= 0) return;
    e.violations.roll(now, 60);
    if (++e.violations.count >= cfg_.block_after_violations) {
      e.blocked_until = now + cfg_.block_duration_s;
      e.violations.count = 0;
    }
  }

  void prune(std::int64_t now) REQUIRES(mu_) {
    const std::int64_t minute = now - now % 60;
    for (auto it = entries_.begin(); it != entries_.end();) {
      bool idle = it->second.minute.start < minute && it->second.blocked_until <= now &&
                  it->second.violations.start < minute;
      it = idle ? entries_.erase(it) : std::next(it);
    }
  }

  const RateLimitConfig cfg_;
  const Clock clock_;
  Mutex mu_;
  std::unordered_map<std::string, Entry> entries_ GUARDED_BY(mu_);
  Window global_minute_ GUARDED_BY(mu_), global_hour_ GUARDED_BY(mu_);
  std::uint64_t admits_ GUARDED_BY(mu_) = 0;
};

class MemoryQuotaLedger final : public QuotaLedger {
 public:
  MemoryQuotaLedger(UsageRepository& store, Clock clock)
      : store_(store), clock_(std::move(clock)) {}

  Decision reserve(const std::string& identity, std::int64_t units, std::int64_t limit) override {
    const std::int64_t now = clock_();
    const std::string day = utc_day(now);
    const std::int64_t reset = seconds_to_utc_midnight(now);
    MutexLock lock(mu_);
    Counter* c = find_current(identity, day);
    if (!c) {
      lock.unlock();
      if (!load(identity, day)) return usage_store_unavailable(limit);
      lock.lock();
      c = find_current(identity, day);
      if (!c) return usage_store_unavailable(limit);
    }
    Decision d;
    d.has_binding = limit > 0;
    if (limit > 0 && c->units + units > limit) {
      d.allowed = false;
      d.binding = {Limit::daily_quota, limit, limit - c->units, reset};
      d.retry_after_s = reset;
      return d;
    }
    c->units += units;
    c->requests += 1;
    c->pending.units += units;
    c->pending.requests += 1;
    if (limit > 0) d.binding = {Limit::daily_quota, limit, limit - c->units, reset};
    return d;
  }

  void refund(const std::string& identity, const std::string& day, std::int64_t units) override {
    MutexLock lock(mu_);
    Counter* c = find_current(identity, day);
    if (!c) {
      orphans_[{identity, day}].units -= units;  // still corrects the stored total
      return;
    }
    std::int64_t back = std::min(units, c->units);
    c->units -= back;
    c->pending.units -= back;
  }

  Result<Usage> today(const std::string& identity) override {
    const std::string day = utc_day(clock_());
    {
      MutexLock lock(mu_);
      if (Counter* c = find_current(identity, day)) return Usage{c->units, c->requests};
    }
    if (!load(identity, day)) return Status::unavailable("usage store unavailable");
    MutexLock lock(mu_);
    Counter* c = find_current(identity, day);
    if (!c) return Status::unavailable("usage store unavailable");
    return Usage{c->units, c->requests};
  }

  Status flush() override {
    std::map<std::pair<std::string, std::string>, Usage> batch;
    {
      MutexLock lock(mu_);
      batch.swap(orphans_);
      for (auto& [id, c] : counters_) {
        if (c.pending.units == 0 && c.pending.requests == 0) continue;
        auto& b = batch[{id, c.day}];
        b.units += c.pending.units;
        b.requests += c.pending.requests;
        c.pending = {};
      }
    }
    if (batch.empty()) return Status::ok();
    std::vector<UsageDelta> deltas;
    deltas.reserve(batch.size());
    for (auto& [k, u] : batch) deltas.push_back({k.first, k.second, u.units, u.requests});
    Status st = store_.add_usage(deltas);
    if (!st.is_ok()) {
      MutexLock lock(mu_);
      for (auto& [k, u] : batch) add_pending(k.first, k.second, u);
    }
    return st;
  }

  void forget(const std::string& identity) override {
    MutexLock lock(mu_);
    counters_.erase(identity);
    std::erase_if(orphans_, [&](const auto& o) { return o.first.first == identity; });
  }

 private:
  struct Counter {
    std::string day;
    std::int64_t units = 0;
    std::int64_t requests = 0;
    Usage pending;  // counted here, not yet in the store
  };

  Counter* find_current(const std::string& identity, const std::string& day) REQUIRES(mu_) {
    auto it = counters_.find(identity);
    return it != counters_.end() && it->second.day == day ? &it->second : nullptr;
  }

  void add_pending(const std::string& identity, const std::string& day, const Usage& u)
      REQUIRES(mu_) {
    if (Counter* c = find_current(identity, day)) {
      c->pending.units += u.units;
      c->pending.requests += u.requests;
    } else {
      auto& o = orphans_[{identity, day}];
      o.units += u.units;
      o.requests += u.requests;
    }
  }

  // Reads the stored total for (identity, day) outside the lock and installs
  // it unless another thread did so first. Unflushed usage of the identity's
  // previous day moves to orphans_ so the next flush still writes it.
  bool load(const std::string& identity, const std::string& day) EXCLUDES(mu_) {
    auto stored = store_.get_usage(identity, day);
    if (!stored.is_ok()) return false;
    MutexLock lock(mu_);
    if (counters_.size() > 200000) prune(day);
    auto& c = counters_[identity];
    if (c.day == day) return true;
    if (!c.day.empty() && (c.pending.units != 0 || c.pending.requests != 0)) {
      auto& o = orphans_[{identity, c.day}];
      o.units += c.pending.units;
      o.requests += c.pending.requests;
    }
    c.day = day;
    c.units = stored->units;
    c.requests = stored->requests;
    c.pending = {};
    // Refunds or failed flushes parked for this day are not in the store yet.
    if (auto o = orphans_.find({identity, day}); o != orphans_.end()) {
      c.units += o->second.units;
      c.requests += o->second.requests;
      c.pending = o->second;
      orphans_.erase(o);
    }
    return true;
  }

  void prune(const std::string& day) REQUIRES(mu_) {
    for (auto it = counters_.begin(); it != counters_.end();) {
      bool drop = it->second.day != day && it->second.pending.units == 0 &&
                  it->second.pending.requests == 0;
      it = drop ? counters_.erase(it) : std::next(it);
    }
  }

  UsageRepository& store_;
  const Clock clock_;
  Mutex mu_;
  std::unordered_map<std::string, Counter> counters_ GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, Usage> orphans_ GUARDED_BY(mu_);
};

}  // namespace

Decision usage_store_unavailable(std::int64_t limit) {
  Decision d;
  d.allowed = false;
  d.has_binding = true;
  d.binding = {Limit::usage_store_unavailable, limit, 0, 1};
  d.retry_after_s = 1;
  return d;
}

namespace {

class SequentialMeter final : public Meter {
 public:
  SequentialMeter(RateLimiter& limiter, QuotaLedger& ledger) : limiter_(limiter), ledger_(ledger) {}
  Metered check(const std::string& identity, bool rate_limited, std::int64_t units,
                std::int64_t limit) override {
    Metered m;
    if (rate_limited) m.rate = limiter_.admit(identity);
    if (m.rate.allowed && units > 0) m.quota = ledger_.reserve(identity, units, limit);
    return m;
  }

 private:
  RateLimiter& limiter_;
  QuotaLedger& ledger_;
};

}  // namespace

std::unique_ptr<Meter> make_meter(RateLimiter& limiter, QuotaLedger& ledger) {
  return std::make_unique<SequentialMeter>(limiter, ledger);
}

std::unique_ptr<RateLimiter> make_memory_rate_limiter(RateLimitConfig cfg, Clock clock) {
  return std::make_unique<MemoryRateLimiter>(cfg, std::move(clock));
}

std::unique_ptr<QuotaLedger> make_memory_quota_ledger(UsageRepository& store, Clock clock) {
  return std::make_unique<MemoryQuotaLedger>(store, std::move(clock));
}

}  // namespace atelier
