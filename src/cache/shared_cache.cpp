#include "cache/shared_cache.h"

#include "core/sha256.h"

namespace atelier::cache {

SharedCache::SharedCache(std::string name, redis::Client& redis, Options opt)
    : prefix_("atelier:cache:" + std::move(name) + ":"),
      redis_(redis),
      opt_(opt),
      local_(opt.local_entries, opt.local_bytes) {}

std::string SharedCache::redis_key(const std::string& key) const {
  // Hashed: keys name models and options and can be long; Redis keys stay short.
  return prefix_ + sha256_hex(key);
}

std::optional<std::string> SharedCache::get(const std::string& key) {
  if (auto hit = local_.get(key)) return hit;
  auto r = redis_.command({"GET", redis_key(key)});
  if (!r.is_ok()) {
    ++shared_errors_;
    return std::nullopt;
  }
  if (r->type != redis::Reply::Type::string) {
    ++shared_misses_;
    return std::nullopt;
  }
  ++shared_hits_;
  local_.put(key, r->str);
  return std::move(r->str);
}

void SharedCache::put(const std::string& key, std::string value) {
  if (value.size() <= opt_.max_shared_bytes) {
    auto r = redis_.command({"SET", redis_key(key), value, "EX", std::to_string(opt_.ttl.count())});
    if (!r.is_ok()) ++shared_errors_;
  }
  local_.put(key, std::move(value));
}

Cache::Stats SharedCache::stats() const {
  Stats s = local_.stats();
  s.shared = true;
  s.shared_hits = shared_hits_.load();
  s.shared_misses = shared_misses_.load();
  s.shared_errors = shared_errors_.load();
  return s;
}

}  // namespace atelier::cache
