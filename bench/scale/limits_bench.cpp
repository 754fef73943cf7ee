// bench/scale: the cost of one limiter check plus one quota reservation (what
// every metered request pays) in-process and in Redis (a redis-server on
// loopback that this program starts), as two scripts and as the one script
// the server runs (the meter), p50/p99 in microseconds, one thread.
// Usage: build/bench/bench_scale_limits [iterations, default 20000]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "quota/redis_limits.h"
#include "store/database.h"
#include "store/migrations.h"
#include "store/redis/redis.h"
#include "store/redis/redis_server_testing.h"

using namespace atelier;

namespace {

void report(const char* name, std::vector<double>& us) {
  std::sort(us.begin(), us.end());
  auto at = [&](double p) {
    return us[std::min(us.size() - 1, static_cast<std::size_t>(p * us.size()))];
  };
  std::printf("%-28s p50 %7.1f us   p99 %7.1f us   (n=%zu)\n", name, at(0.50), at(0.99), us.size());
}

template <class F>
std::vector<double> time_each(int n, F f) {
  std::vector<double> us;
  us.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const auto t = std::chrono::steady_clock::now();
    f(i);
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t).count());
  }
  return us;
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 20000;
  auto db = db::open_database("sqlite::memory:", 1);
  if (!db.is_ok() || !(*db)->migrate(schema_migrations()).is_ok()) {
    std::fprintf(stderr, "no database\n");
    return 1;
  }
  UsageRepository usage(**db);
  RateLimitConfig cfg{0, 0, 1'000'000'000, 0, 0};
  auto memory_limiter = make_memory_rate_limiter(cfg, system_clock_seconds());
  auto memory_ledger = make_memory_quota_ledger(usage, system_clock_seconds());
  auto mem = time_each(n, [&](int i) {
    const std::string id = "key:" + std::to_string(i % 100);
    (void)memory_limiter->admit(id);
    (void)memory_ledger->reserve(id, 1, 0);
  });

  testing_support::RedisServer server;
  if (!server.start()) {
    std::fprintf(stderr, "redis-server did not start (apt install redis-server)\n");
    return 1;
  }
  auto client = std::move(redis::Client::create({server.url()})).value();
  auto health = std::make_shared<RedisHealth>();
  auto redis_limiter = make_redis_rate_limiter(cfg, system_clock_seconds(), *client,
                                               RedisFailureMode::closed, health);
  auto redis_ledger = make_redis_quota_ledger(usage, system_clock_seconds(), *client,
                                              RedisFailureMode::closed, health);
  for (int i = 0; i < 100; ++i) (void)redis_ledger->reserve("key:" + std::to_string(i), 1, 0);
  auto red = time_each(n, [&](int i) {
    const std::string id = "key:" + std::to_string(i % 100);
    (void)redis_limiter->admit(id);
    (void)redis_ledger->reserve(id, 1, 0);
  });
  // What the server runs: both checks in one script (one round trip).
  auto limits = make_redis_limits(cfg, usage, system_clock_seconds(), *client,
                                  RedisFailureMode::closed, health);
  auto one = time_each(
      n, [&](int i) { (void)limits.meter->check("key:" + std::to_string(i % 100), true, 1, 0); });
  std::printf("limiter check + quota reservation, one thread, %d iterations\n", n);
  report("in-process", mem);
  report("Redis, two scripts", red);
  report("Redis, one script (meter)", one);
  std::printf("failed Redis calls: %llu\n", static_cast<unsigned long long>(client->failures()));
  return 0;
}
