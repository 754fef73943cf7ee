// What a result cache counts, per layer, as metrics read it (the cache seam,
// cache/cache.h, reports these; obs/ reads them without knowing caches).
#pragma once

#include <cstdint>

namespace atelier {

// `hits`/`misses` are the in-process layer's; the shared layer (Redis) is
// asked on each local miss and counts its own, with the calls that failed
// (answered as misses).
struct CacheStats {
  std::uint64_t hits = 0, misses = 0, entries = 0, evictions = 0;
  std::uint64_t shared_hits = 0, shared_misses = 0, shared_errors = 0;
  bool shared = false;  // whether there is a shared layer
};

}  // namespace atelier
