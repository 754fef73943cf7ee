#include <map>
#include <thread>

#include "core/ids.h"
#include "core/mutex.h"
#include "quota/redis_limits.h"

namespace atelier {
namespace {

// Slots are members of a sorted set per identity, scored by when their lease
// ends. ARGV: now (ms), lease end (ms), cap, member, key TTL (s).
// Returns 1 (taken) or 0 (all held).
redis::Script& take_script() {
  static redis::Script s(R"lua(
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[5]))
return 1
)lua");
  return s;
}

// Extends a held slot's lease (adds it back if Redis lost it: the work is
// still open). ARGV: lease end (ms), member, key TTL (s).
redis::Script& renew_script() {
  static redis::Script s(R"lua(
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return 1
)lua");
  return s;
}

class RedisConcurrencyLimiter final : public ConcurrencyLimiter {
 public:
  RedisConcurrencyLimiter(redis::Client& redis, RedisFailureMode mode,
                          std::shared_ptr<RedisHealth> health, std::function<std::int64_t()> now_ms,
                          std::chrono::seconds lease)
      : redis_(redis),
        mode_(mode),
        health_(std::move(health)),
        now_ms_(std::move(now_ms)),
        lease_(lease),
        replica_(random_id("")),
        fallback_(make_memory_concurrency_limiter()),
        renewer_([this] { renew_loop(); }) {}

  ~RedisConcurrencyLimiter() override {
    {
      MutexLock lk(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    renewer_.join();
  }

  Result<std::unique_ptr<Slot>> take(const std::string& who, int cap) override {
    const std::string member = replica_ + ":" + std::to_string(next_.fetch_add(1));
    const std::string key = "atelier:streams:" + who;
    const std::int64_t now = now_ms_();
    auto r = redis_.eval(take_script(), {key},
                         {std::to_string(now), std::to_string(now + lease_ms()),
                          std::to_string(cap), member, std::to_string(key_ttl_s())});
    if (!r.is_ok()) {
      if (mode_ == RedisFailureMode::open) {
        ++health_->fallbacks;
        return fallback_->take(who, cap);
      }
      ++health_->refusals;
      return Status::unavailable("open streams cannot be counted right now (Redis is unreachable)");
    }
    if (r->as_int() != 1) return std::unique_ptr<Slot>();
    {
      MutexLock lk(mu_);
      held_[member] = key;
    }
    return std::unique_ptr<Slot>(std::make_unique<RedisSlot>(*this, key, member));
  }

 private:
  class RedisSlot final : public Slot {
   public:
    RedisSlot(RedisConcurrencyLimiter& owner, std::string key, std::string member)
        : owner_(owner), key_(std::move(key)), member_(std::move(member)) {}
    ~RedisSlot() override { owner_.release(key_, member_); }

   private:
    RedisConcurrencyLimiter& owner_;
    const std::string key_, member_;
  };

  std::int64_t lease_ms() const { return static_cast<std::int64_t>(lease_.count()) * 1000; }
  std::int64_t key_ttl_s() const { return static_cast<std::int64_t>(lease_.count()) * 2 + 1; }

  void release(const std::string& key, const std::string& member) EXCLUDES(mu_) {
    {
      MutexLock lk(mu_);
      held_.erase(member);
    }
    // Unreachable now: the slot lapses when its lease ends.
    (void)redis_.command({"ZREM", key, member});
  }

  // Renews every held slot a few times per lease, so a replica that dies
  // gives its slots back within one lease.
  void renew_loop() EXCLUDES(mu_) {
    MutexLock lk(mu_);
    for (;;) {
      // Wakes when stopping, else once a third of a lease has passed.
      const auto wake = std::chrono::steady_clock::now() + lease_ / 3;
      while (!stopping_)
        if (!cv_.wait_until(mu_, wake)) break;
      if (stopping_) return;
      const auto held = held_;
      lk.unlock();
      const std::string until = std::to_string(now_ms_() + lease_ms());
      for (const auto& [member, key] : held)
        (void)redis_.eval(renew_script(), {key}, {until, member, std::to_string(key_ttl_s())});
      lk.lock();
    }
  }

  redis::Client& redis_;
  const RedisFailureMode mode_;
  const std::shared_ptr<RedisHealth> health_;
  const std::function<std::int64_t()> now_ms_;
  const std::chrono::seconds lease_;
  const std::string replica_;  // names this process's slots
  std::atomic<std::uint64_t> next_{0};
  const std::unique_ptr<ConcurrencyLimiter> fallback_;  // open mode, Redis down
  Mutex mu_;
  CondVar cv_;
  std::map<std::string, std::string> held_ GUARDED_BY(mu_);  // member -> key
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread renewer_;  // last: starts once the rest is built
};

}  // namespace

std::unique_ptr<ConcurrencyLimiter> make_redis_concurrency_limiter(
    redis::Client& redis, RedisFailureMode mode, std::shared_ptr<RedisHealth> health,
    std::function<std::int64_t()> now_ms, std::chrono::seconds lease) {
  return std::make_unique<RedisConcurrencyLimiter>(redis, mode, std::move(health),
                                                   std::move(now_ms), lease);
}

}  // namespace atelier
