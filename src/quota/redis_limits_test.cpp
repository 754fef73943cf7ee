// The Redis limits against a real redis-server: exact across "replicas"
// (several limiter and ledger objects over one Redis), both failure modes
// with Redis stopped and restarted, and the day's total reloaded from the
// database when Redis has lost it.
#include "quota/redis_limits.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "core/mutex.h"
#include "store/redis/redis.h"
#include "store/redis/redis_server_testing.h"
#include "store/temp_database_testing.h"

namespace atelier {
namespace {

using testing_support::RedisServer;

struct Fixture {
  RedisServer server;
  std::unique_ptr<redis::Client> a, b;  // two replicas' clients
  std::atomic<std::int64_t> now{1'800'000'000};
  Clock clock() {
    return [this] { return now.load(); };
  }
  bool start() {
    if (!server.start()) return false;
    a = std::move(redis::Client::create({server.url()})).value();
    b = std::move(redis::Client::create({server.url()})).value();
    return true;
  }
};

// Waits (bounded) for a condition that depends on Redis coming back.
template <class F>
bool eventually(F f) {
  for (int i = 0; i < 150; ++i) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

TEST(RedisLimits, QuotaIsExactAcrossReplicasRacingForTheLastUnits) {
  ATELIER_NEED_REDIS();
  Fixture f;
  ASSERT_TRUE(f.start());
  testing_support::TempRepository<UsageRepository> store("redis_quota");
  ASSERT_TRUE(store.repo->add_usage({{"user:1", utc_day(f.now), 50, 50}}).is_ok());
  auto health = std::make_shared<RedisHealth>();
  auto l1 = make_redis_quota_ledger(*store.repo, f.clock(), *f.a, RedisFailureMode::closed, health);
  auto l2 = make_redis_quota_ledger(*store.repo, f.clock(), *f.b, RedisFailureMode::closed, health);
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      QuotaLedger& l = t % 2 ? *l1 : *l2;
      for (int i = 0; i < 20; ++i)
        if (l.reserve("user:1", 1, 100).allowed) granted.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 50) << "the stored 50 were counted; exactly the other 50 granted";
  EXPECT_EQ(l1->today("user:1")->units, 100);
  EXPECT_EQ(l2->today("user:1")->units, 100);
  // Refunds count on every replica; the database gets each replica's share.
  l1->refund("user:1", utc_day(f.now), 5);
  EXPECT_EQ(l2->today("user:1")->units, 95);
  ASSERT_TRUE(l1->flush().is_ok());
  ASSERT_TRUE(l2->flush().is_ok());
  EXPECT_EQ(store.repo->get_usage("user:1", utc_day(f.now))->units, 95);
  // Redis forgets the day (a restart without persistence): the stored total comes back.
  ASSERT_TRUE(f.a->command({"FLUSHALL"}).is_ok());
  EXPECT_EQ(l2->today("user:1")->units, 95);
  const auto d = l1->reserve("user:1", 10, 100);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.binding.name, Limit::daily_quota);
  EXPECT_EQ(d.binding.remaining, 5);
  EXPECT_EQ(health->refusals.load(), 0u);
}

TEST(RedisLimits, RateLimitsAndBlocksHoldAcrossReplicas) {
  ATELIER_NEED_REDIS();
  Fixture f;
  ASSERT_TRUE(f.start());
  RateLimitConfig cfg{0, 0, 10, 3, 30};
  auto health = std::make_shared<RedisHealth>();
  auto r1 = make_redis_rate_limiter(cfg, f.clock(), *f.a, RedisFailureMode::closed, health);
  auto r2 = make_redis_rate_limiter(cfg, f.clock(), *f.b, RedisFailureMode::closed, health);
  f.now = 1'800'000'000 - 1'800'000'000 % 60;  // the start of a minute
  int allowed = 0;
  for (int i = 0; i < 10; ++i) allowed += (i % 2 ? *r1 : *r2).admit("key:1").allowed;
  EXPECT_EQ(allowed, 10);
  const auto last = r1->admit("key:2");
  EXPECT_TRUE(last.allowed);
  EXPECT_EQ(last.binding.name, Limit::identity_minute);
  EXPECT_EQ(last.binding.remaining, 9);
  EXPECT_EQ(last.binding.reset_s, 60);
  // Refused on both; the third refusal blocks for 30 s, everywhere.
  for (int i = 0; i < 3; ++i) {
    const auto d = (i % 2 ? *r1 : *r2).admit("key:1");
    EXPECT_FALSE(d.allowed);
    EXPECT_EQ(d.binding.name, Limit::identity_minute);
  }
  f.now += 20;  // within the block's 30 s
  const auto blocked = r2->admit("key:1");
  EXPECT_FALSE(blocked.allowed);
  EXPECT_EQ(blocked.binding.name, Limit::blocked);
  EXPECT_EQ(blocked.retry_after_s, 10);
  const auto st = r1->state("key:1");
  ASSERT_FALSE(st.empty());
  EXPECT_EQ(st[0].name, Limit::blocked);
  f.now += 40;  // the block ended and a new minute began
  EXPECT_TRUE(r1->admit("key:1").allowed);

  // A server-wide window is shared too.
  RateLimitConfig global{5, 0, 0, 0, 0};
  auto g1 = make_redis_rate_limiter(global, f.clock(), *f.a, RedisFailureMode::closed, health);
  auto g2 = make_redis_rate_limiter(global, f.clock(), *f.b, RedisFailureMode::closed, health);
  f.now += 60;
  int admitted = 0;
  for (int i = 0; i < 12; ++i)
    admitted += (i % 2 ? *g1 : *g2).admit("ip:10.0.0." + std::to_string(i)).allowed;
  EXPECT_EQ(admitted, 5);
}

TEST(RedisLimits, RedisDownRefusesWhenClosedAndFallsBackWhenOpenThenRecovers) {
  ATELIER_NEED_REDIS();
  Fixture f;
  ASSERT_TRUE(f.start());
  testing_support::TempRepository<UsageRepository> store("redis_down");
  RateLimitConfig cfg{0, 0, 100, 0, 0};
  auto closed_health = std::make_shared<RedisHealth>();
  auto open_health = std::make_shared<RedisHealth>();
  auto closed_limiter =
      make_redis_rate_limiter(cfg, f.clock(), *f.a, RedisFailureMode::closed, closed_health);
  auto closed_ledger = make_redis_quota_ledger(*store.repo, f.clock(), *f.a,
                                               RedisFailureMode::closed, closed_health);
  auto open_limiter =
      make_redis_rate_limiter(cfg, f.clock(), *f.b, RedisFailureMode::open, open_health);
  auto open_ledger =
      make_redis_quota_ledger(*store.repo, f.clock(), *f.b, RedisFailureMode::open, open_health);
  ASSERT_TRUE(closed_ledger->reserve("user:9", 1, 10).allowed);

  f.server.stop();
  const auto refused = closed_limiter->admit("user:9");
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.binding.name, Limit::limiter_unavailable);
  const auto no_quota = closed_ledger->reserve("user:9", 1, 10);
  EXPECT_FALSE(no_quota.allowed);
  EXPECT_EQ(no_quota.binding.name, Limit::usage_store_unavailable);
  EXPECT_GE(closed_health->refusals.load(), 2u);
  EXPECT_FALSE(f.a->up());
  // Open: this replica's own counters answer.
  EXPECT_TRUE(open_limiter->admit("user:9").allowed);
  EXPECT_TRUE(open_ledger->reserve("user:9", 1, 10).allowed);
  EXPECT_GE(open_health->fallbacks.load(), 2u);

  ASSERT_TRUE(f.server.start());  // an empty Redis on the same port
  EXPECT_TRUE(eventually([&] { return closed_limiter->admit("user:9").allowed; }));
  EXPECT_TRUE(f.a->up());
  // The closed replica's charge was flushed? Not yet: its own pending counts.
  EXPECT_TRUE(eventually([&] { return closed_ledger->today("user:9").is_ok(); }));
  ASSERT_TRUE(closed_ledger->flush().is_ok());
  ASSERT_TRUE(open_ledger->flush().is_ok());
  EXPECT_EQ(store.repo->get_usage("user:9", utc_day(f.now))->units, 2)
      << "one unit through Redis, one through the fallback: both stored";
}

TEST(RedisClient, SubscriptionsDeliverAndReconnect) {
  ATELIER_NEED_REDIS();
  Fixture f;
  ASSERT_TRUE(f.start());
  Mutex mu;
  std::vector<std::string> got;
  std::atomic<int> reconnects{0};
  auto sub = f.a->subscribe(
      "events",
      [&](std::string m) {
        MutexLock lock(mu);
        got.push_back(std::move(m));
      },
      [&] { reconnects.fetch_add(1); });
  auto published = [&](const std::string& m) {
    return eventually([&] {
      (void)f.b->command({"PUBLISH", "events", m});
      MutexLock lock(mu);
      return std::find(got.begin(), got.end(), m) != got.end();
    });
  };
  EXPECT_TRUE(published("key:1"));
  f.server.stop();
  ASSERT_TRUE(f.server.start());
  EXPECT_TRUE(published("key:2"));
  EXPECT_GE(reconnects.load(), 1);
  EXPECT_FALSE(redis::Client::create({"http://x"}).is_ok());
  EXPECT_FALSE(redis::Client::create({"redis://h:99999"}).is_ok());
  EXPECT_TRUE(redis::Client::create({"redis://:secret@h:6380/2"}).is_ok());
  sub.reset();  // stops promptly
}

}  // namespace
}  // namespace atelier

namespace atelier {
namespace {

TEST(RedisConcurrency, SlotsAreCappedAcrossReplicasAndADeadReplicasLapse) {
  ATELIER_NEED_REDIS();
  Fixture f;
  ASSERT_TRUE(f.start());
  std::atomic<std::int64_t> now_ms{1'800'000'000'000};
  auto clock = [&] { return now_ms.load(); };
  auto health = std::make_shared<RedisHealth>();
  auto a = make_redis_concurrency_limiter(*f.a, RedisFailureMode::closed, health, clock,
                                          std::chrono::seconds(30));
  auto b = make_redis_concurrency_limiter(*f.b, RedisFailureMode::closed, health, clock,
                                          std::chrono::seconds(30));
  // Two replicas race for a caller's three slots.
  std::vector<std::unique_ptr<ConcurrencyLimiter::Slot>> held;
  Mutex mu;
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      auto r = (t % 2 ? a : b)->take("user:1", 3);
      ASSERT_TRUE(r.is_ok());
      MutexLock lk(mu);
      if (*r) held.push_back(std::move(*r));
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(held.size(), 3u);
  EXPECT_TRUE(*a->take("user:2", 3)) << "per caller";
  held.pop_back();  // a stream ends: its slot is free on every replica
  auto again = b->take("user:1", 3);
  ASSERT_TRUE(again.is_ok() && *again);
  EXPECT_FALSE(*a->take("user:1", 3));

  // A replica that died left a slot whose lease is not renewed: it lapses.
  held.clear();
  again->reset();
  ASSERT_TRUE(f.a->command({"ZADD", "atelier:streams:user:3",
                            std::to_string(now_ms.load() + 30'000), "dead-replica:1"})
                  .is_ok());
  EXPECT_FALSE(*a->take("user:3", 1));
  now_ms += 31'000;
  EXPECT_TRUE(*a->take("user:3", 1));

  // Redis down: closed refuses with unavailable; open counts on this replica.
  auto open = make_redis_concurrency_limiter(*f.b, RedisFailureMode::open, health, clock,
                                             std::chrono::seconds(30));
  f.server.stop();
  EXPECT_EQ(a->take("user:4", 1).status().code(), Code::unavailable);
  auto fallback = open->take("user:4", 1);
  ASSERT_TRUE(fallback.is_ok() && *fallback);
  EXPECT_FALSE(*open->take("user:4", 1));
  EXPECT_GE(health->fallbacks.load(), 1u);
}

TEST(RedisConcurrency, HeldSlotsAreRenewedWhileOpen) {
  ATELIER_NEED_REDIS();
  Fixture f;
  ASSERT_TRUE(f.start());
  auto health = std::make_shared<RedisHealth>();
  auto real_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  auto a = make_redis_concurrency_limiter(*f.a, RedisFailureMode::closed, health, real_ms,
                                          std::chrono::seconds(1));
  auto slot = a->take("user:1", 1);
  ASSERT_TRUE(slot.is_ok() && *slot);
  // Past its first lease, still held: renewed every third of a lease.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  auto b = make_redis_concurrency_limiter(*f.b, RedisFailureMode::closed, health, real_ms,
                                          std::chrono::seconds(1));
  EXPECT_FALSE(*b->take("user:1", 1));
  slot->reset();
  EXPECT_TRUE(*b->take("user:1", 1));
}

TEST(MemoryConcurrency, CapsPerCallerAndFreesOnRelease) {
  auto m = make_memory_concurrency_limiter();
  auto one = m->take("a", 2), two = m->take("a", 2);
  ASSERT_TRUE(*one && *two);
  EXPECT_FALSE(*m->take("a", 2));
  EXPECT_TRUE(*m->take("b", 2));
  one->reset();
  EXPECT_TRUE(*m->take("a", 2));
}

}  // namespace
}  // namespace atelier

namespace atelier {
namespace {

TEST(RedisMeter, BothChecksInOneScriptAreExactAndARefusedRateReservesNothing) {
  ATELIER_NEED_REDIS();
  Fixture f;
  ASSERT_TRUE(f.start());
  testing_support::TempRepository<UsageRepository> store("redis_meter");
  // The day's first use in Redis loads the stored total.
  ASSERT_TRUE(store.repo->add_usage({{"user:1", utc_day(f.now), 40, 40}}).is_ok());
  auto health = std::make_shared<RedisHealth>();
  RateLimitConfig cfg{0, 0, 1000, 0, 0};
  auto a = make_redis_limits(cfg, *store.repo, f.clock(), *f.a, RedisFailureMode::closed, health);
  auto b = make_redis_limits(cfg, *store.repo, f.clock(), *f.b, RedisFailureMode::closed, health);
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Meter& m = t % 2 ? *a.meter : *b.meter;
      for (int i = 0; i < 20; ++i) {
        const auto r = m.check("user:1", true, 1, 100);
        EXPECT_TRUE(r.rate.allowed);
        if (r.quota.allowed) granted.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), 60) << "40 stored, exactly the other 60 granted";
  EXPECT_EQ(a.ledger->today("user:1")->units, 100);
  // The rate window counted all 160 checks, on both replicas.
  auto state = b.limiter->state("user:1");
  ASSERT_EQ(state.size(), 1u);
  EXPECT_EQ(state[0].remaining, 1000 - 160);

  // A refused rate reserves no quota.
  RateLimitConfig tight{0, 0, 2, 0, 0};
  auto t = make_redis_limits(tight, *store.repo, f.clock(), *f.a, RedisFailureMode::closed, health);
  EXPECT_TRUE(t.meter->check("user:2", true, 3, 100).quota.allowed);
  EXPECT_TRUE(t.meter->check("user:2", true, 3, 100).quota.allowed);
  const auto refused = t.meter->check("user:2", true, 3, 100);
  EXPECT_FALSE(refused.rate.allowed);
  EXPECT_EQ(refused.rate.binding.name, Limit::identity_minute);
  EXPECT_EQ(t.ledger->today("user:2")->units, 6);
  // Only the quota (a route that is not rate limited), and only the rate.
  EXPECT_TRUE(t.meter->check("user:3", false, 2, 100).quota.allowed);
  EXPECT_EQ(t.ledger->today("user:3")->units, 2);
  EXPECT_TRUE(t.meter->check("user:4", true, 0, 100).rate.allowed);
  EXPECT_EQ(t.ledger->today("user:4")->units, 0);
  ASSERT_TRUE(a.ledger->flush().is_ok());
  ASSERT_TRUE(b.ledger->flush().is_ok());
  ASSERT_TRUE(t.ledger->flush().is_ok());
  EXPECT_EQ(store.repo->get_usage("user:1", utc_day(f.now))->units, 100);
  EXPECT_EQ(store.repo->get_usage("user:2", utc_day(f.now))->units, 6);

  // Redis down: closed refuses (the rate check says so first); open falls back.
  auto open = make_redis_limits(cfg, *store.repo, f.clock(), *f.b, RedisFailureMode::open, health);
  f.server.stop();
  const auto down = a.meter->check("user:5", true, 1, 100);
  EXPECT_FALSE(down.rate.allowed);
  EXPECT_EQ(down.rate.binding.name, Limit::limiter_unavailable);
  const auto fallback = open.meter->check("user:5", true, 1, 100);
  EXPECT_TRUE(fallback.rate.allowed);
  EXPECT_TRUE(fallback.quota.allowed);
}

}  // namespace
}  // namespace atelier

namespace atelier {
namespace {

TEST(RedisClient, AStalePooledConnectionIsReplacedWithoutCallingTheServerDown) {
  ATELIER_NEED_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.start());
  auto c = std::move(redis::Client::create({server.url()})).value();
  ASSERT_TRUE(c->command({"SET", "k", "1"}).is_ok());  // leaves a pooled connection
  server.stop();
  ASSERT_TRUE(server.start());  // the pooled connection is now dead
  auto r = c->command({"INCR", "n"});
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->as_int(), 1) << "run once, on a fresh connection";
  EXPECT_TRUE(c->up());
  EXPECT_EQ(c->failures(), 0u);
}

}  // namespace
}  // namespace atelier
