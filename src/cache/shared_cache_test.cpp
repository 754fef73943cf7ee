// The shared cache against a real redis-server: a result put by one replica
// is a Redis hit on another and a local hit after that; large values stay
// local; Redis down is a miss (counted), and the cache works again once
// Redis is back.
#include "cache/shared_cache.h"

#include <gtest/gtest.h>

#include <thread>

#include "store/redis/redis_server_testing.h"

namespace atelier::cache {
namespace {

using testing_support::RedisServer;

TEST(SharedCache, ReplicasShareResultsThroughRedisWithALocalLayerInFront) {
  ATELIER_NEED_REDIS();
  RedisServer server;
  ASSERT_TRUE(server.start());
  auto ra = std::move(redis::Client::create({server.url()})).value();
  auto rb = std::move(redis::Client::create({server.url()})).value();
  SharedCache a("vision", *ra, {.local_entries = 16, .max_shared_bytes = 64});
  SharedCache b("vision", *rb, {.local_entries = 16, .max_shared_bytes = 64});
  SharedCache other("edges", *rb, {});

  EXPECT_FALSE(b.get("img-1").has_value());
  a.put("img-1", std::string("result\0bytes", 12));
  EXPECT_FALSE(other.get("img-1").has_value()) << "caches are named apart";
  auto got = b.get("img-1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(*got, std::string("result\0bytes", 12)) << "binary-safe";
  EXPECT_EQ(b.get("img-1"), got);  // now from b's own memory

  auto s = b.stats();
  EXPECT_TRUE(s.shared);
  EXPECT_EQ(s.hits, 1u);           // the second get
  EXPECT_EQ(s.misses, 2u);         // the first two gets
  EXPECT_EQ(s.shared_hits, 1u);    // the second of those
  EXPECT_EQ(s.shared_misses, 1u);  // the first
  EXPECT_EQ(s.shared_errors, 0u);
  // Every key has a TTL.
  auto keys = ra->command({"KEYS", "atelier:cache:vision:*"});
  ASSERT_TRUE(keys.is_ok());
  ASSERT_EQ(keys->elements.size(), 1u);
  EXPECT_GT(ra->command({"TTL", keys->elements[0].str})->as_int(), 0);

  a.put("big", std::string(100, 'x'));  // over max_shared_bytes: this replica only
  EXPECT_TRUE(a.get("big").has_value());
  EXPECT_FALSE(b.get("big").has_value());

  server.stop();
  EXPECT_FALSE(b.get("img-2").has_value());
  b.put("img-2", "computed while Redis was down");  // kept locally; no error
  EXPECT_EQ(b.get("img-2"), "computed while Redis was down");
  EXPECT_GE(b.stats().shared_errors, 1u);

  ASSERT_TRUE(server.start());  // an empty Redis on the same port
  bool shared = false;
  for (int i = 0; i < 150 && !shared; ++i) {
    a.put("img-3", "again");
    shared = b.get("img-3").has_value();
    if (!shared) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(shared) << "shared again once Redis is back";
}

TEST(LruCache, EvictsTheLeastRecentlyUsedAndCountsHitsAndMisses) {
  LruCache c(2, 1 << 20);
  c.put("a", "1");
  c.put("b", "2");
  EXPECT_TRUE(c.get("a"));  // a is now the newest
  c.put("c", "3");          // evicts b
  EXPECT_FALSE(c.get("b"));
  EXPECT_TRUE(c.get("c"));
  auto s = c.stats();
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(s.entries, 2u);
  EXPECT_FALSE(s.shared);
}

}  // namespace
}  // namespace atelier::cache
