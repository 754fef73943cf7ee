// Deadlines and cancellation that travel with a request from the HTTP layer
// through any queue into the work (and later into engines and hosted calls).
//
// Thread safety: a CancelSource may be cancelled from any thread (the network
// thread that sees the client disconnect, the SIGTERM handler); a CancelToken
// may be polled from any thread. Both are cheap to copy (one shared_ptr).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

#include "core/status.h"
#include "core/timings.h"

namespace atelier {

using SteadyClock = std::chrono::steady_clock;

class CancelToken {
 public:
  CancelToken() = default;  // never cancelled
  bool cancelled() const noexcept { return flag_ && flag_->load(std::memory_order_acquire); }

 private:
  friend class CancelSource;
  explicit CancelToken(std::shared_ptr<std::atomic<bool>> f) : flag_(std::move(f)) {}
  std::shared_ptr<std::atomic<bool>> flag_;
};

class CancelSource {
 public:
  CancelSource() : flag_(std::make_shared<std::atomic<bool>>(false)) {}
  void cancel() noexcept { flag_->store(true, std::memory_order_release); }
  bool cancelled() const noexcept { return flag_->load(std::memory_order_acquire); }
  CancelToken token() const { return CancelToken(flag_); }

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

// A point in time after which the work is pointless; the caller has given up
// or will be answered 504.
struct Deadline {
  SteadyClock::time_point at = SteadyClock::time_point::max();

  static Deadline after(std::chrono::milliseconds d) { return {SteadyClock::now() + d}; }
  static Deadline never() { return {}; }
  bool expired() const noexcept { return SteadyClock::now() >= at; }
  std::chrono::milliseconds remaining() const {
    auto now = SteadyClock::now();
    if (now >= at) return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(at - now);
  }
};

// What work receives: check it between steps and bail out with its status.
struct WorkContext {
  Deadline deadline;
  CancelToken cancel;
  // Where this request's phases are reported (Server-Timing); null when not collected.
  std::shared_ptr<Timings> timings = nullptr;

  // OK while the work should continue.
  Status check() const {
    if (cancel.cancelled()) return Status::cancelled("the client went away");
    if (deadline.expired()) return Status::deadline_exceeded("request deadline exceeded");
    return Status::ok();
  }
};

}  // namespace atelier
