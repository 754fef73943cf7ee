// A result cache shared by replicas: an in-process LRU in front of Redis.
// A local miss asks Redis; a Redis hit is copied into the LRU, so a result
// computed by any replica is computed once. Writes go to both layers, Redis
// with a TTL (entries are content-addressed, so they never go stale; the TTL
// and Redis's own maxmemory policy bound its memory).
//
// Keys in Redis: atelier:cache:<name>:<sha256 of the key>. Values over
// `max_shared_bytes` stay local. Redis unreachable is a miss (counted in
// shared_errors), never an error: the work is done again, and the client's
// back-off keeps that cheap while Redis is down.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "cache/cache.h"
#include "store/redis/redis.h"

namespace atelier::cache {

class SharedCache final : public Cache {
 public:
  struct Options {
    std::size_t local_entries = 1024;
    std::size_t local_bytes = std::size_t(64) << 20;
    std::chrono::seconds ttl{86400};
    std::size_t max_shared_bytes = std::size_t(4) << 20;
  };
  // `redis` must outlive the cache.
  SharedCache(std::string name, redis::Client& redis, Options opt);

  std::optional<std::string> get(const std::string& key) override;
  void put(const std::string& key, std::string value) override;
  Stats stats() const override;

 private:
  std::string redis_key(const std::string& key) const;

  const std::string prefix_;
  redis::Client& redis_;
  const Options opt_;
  LruCache local_;
  std::atomic<std::uint64_t> shared_hits_{0}, shared_misses_{0}, shared_errors_{0};
};

}  // namespace atelier::cache
