// Concurrent holders per identity, capped: open chat streams (SSE and
// WebSocket) each hold a slot for as long as the client reads. The in-process
// limiter serves one replica; the Redis one (redis_limits.h) counts a caller's
// slots on every replica together.
//
// Thread safety: take() from any thread; a Slot is released (destroyed) on
// any thread, before the limiter that gave it.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"

namespace atelier {

class ConcurrencyLimiter {
 public:
  // Held while the work is open; its slot is given back on destruction.
  class Slot {
   public:
    virtual ~Slot() = default;
  };
  virtual ~ConcurrencyLimiter() = default;
  // One of `who`'s at most `cap` slots: null when all are held; an
  // `unavailable` error when the shared count cannot be reached (Redis down,
  // failure mode closed).
  virtual Result<std::unique_ptr<Slot>> take(const std::string& who, int cap) = 0;
};

std::unique_ptr<ConcurrencyLimiter> make_memory_concurrency_limiter();

}  // namespace atelier
