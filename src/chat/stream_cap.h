// Open chat streams per identity, capped: a stream (SSE or a WebSocket)
// holds a worker and maybe an upstream connection for as long as the client
// reads. The slots are counted by a ConcurrencyLimiter: across replicas when
// it is the Redis one, so a caller's streams are capped cluster-wide.
//
// Thread safety: take() from any thread; a Slot is released on any thread.
#pragma once

#include <memory>
#include <string>

#include "quota/concurrency.h"

namespace atelier::chat {

class StreamCap {
 public:
  // `slots` must outlive the cap and the slots it gives.
  StreamCap(int cap, ConcurrencyLimiter& slots) : cap_(cap), slots_(slots) {}
  int limit() const { return cap_; }

  using Slot = ConcurrencyLimiter::Slot;
  // A slot for one more of `who`'s streams: resource_exhausted when `who`
  // holds limit() already, unavailable when the streams cannot be counted.
  Result<std::unique_ptr<Slot>> take(const std::string& who) {
    ATELIER_ASSIGN_OR_RETURN(std::unique_ptr<Slot> slot, slots_.take(who, cap_));
    if (!slot)
      return Status::resource_exhausted("too many open chat streams for this caller (at most " +
                                        std::to_string(cap_) + ")");
    return slot;
  }

 private:
  const int cap_;
  ConcurrencyLimiter& slots_;
};

}  // namespace atelier::chat
