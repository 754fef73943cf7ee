// The result cache seam: content-addressed results (the key includes the
// input's hash and the model versions) so repeated work is skipped. The
// in-process LRU serves one replica; SharedCache (shared_cache.h) puts one in
// front of Redis so that replicas share their results.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/mutex.h"
#include "obs/cache_stats.h"

namespace atelier::cache {

class Cache {
 public:
  virtual ~Cache() = default;
  virtual std::optional<std::string> get(const std::string& key) = 0;
  virtual void put(const std::string& key, std::string value) = 0;

  using Stats = CacheStats;  // per layer (obs/cache_stats.h)
  virtual Stats stats() const = 0;
};

// Least-recently-used, bounded by entry count and total bytes.
class LruCache final : public Cache {
 public:
  LruCache(std::size_t max_entries, std::size_t max_bytes)
      : max_entries_(max_entries), max_bytes_(max_bytes) {}

  std::optional<std::string> get(const std::string& key) override {
    MutexLock lk(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) {
      ++stats_.misses;
      return std::nullopt;
    }
    ++stats_.hits;
    order_.splice(order_.begin(), order_, it->second);
    return it->second->second;
  }

  void put(const std::string& key, std::string value) override {
    if (max_entries_ == 0 || key.size() + value.size() > max_bytes_) return;
    MutexLock lk(mu_);
    auto it = map_.find(key);
    if (it != map_.end()) {
      bytes_ -= it->second->first.size() + it->second->second.size();
      order_.erase(it->second);
      map_.erase(it);
    }
    bytes_ += key.size() + value.size();
    order_.emplace_front(key, std::move(value));
    map_[key] = order_.begin();
    while (map_.size() > max_entries_ || bytes_ > max_bytes_) {
      auto& last = order_.back();
      bytes_ -= last.first.size() + last.second.size();
      map_.erase(last.first);
      order_.pop_back();
      ++stats_.evictions;
    }
  }

  Stats stats() const override {
    MutexLock lk(mu_);
    Stats s = stats_;
    s.entries = map_.size();
    return s;
  }

 private:
  using Entry = std::pair<std::string, std::string>;
  const std::size_t max_entries_, max_bytes_;
  mutable Mutex mu_;
  std::list<Entry> order_ GUARDED_BY(mu_);  // front = newest
  std::unordered_map<std::string, std::list<Entry>::iterator> map_ GUARDED_BY(mu_);
  std::size_t bytes_ GUARDED_BY(mu_) = 0;
  Stats stats_ GUARDED_BY(mu_);
};

}  // namespace atelier::cache
