// A circuit breaker for calls to hosted services: after `threshold`
// consecutive failures it opens and refuses at once for `cooldown`, then lets
// one trial call through (half-open): success closes it, failure opens it
// again. Refusing fast keeps workers and callers from waiting on a service
// that is down, and gives it room to recover.
//
// Only failures that say the service is unwell count (unavailable,
// deadline_exceeded, internal); a bad request from our side does not.
//
// Thread safety: every method may be called concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

#include "core/mutex.h"
#include "core/status.h"

namespace atelier {

class CircuitBreaker {
 public:
  enum class State { closed, open, half_open };
  using TimePoint = std::chrono::steady_clock::time_point;
  // The time source; tests pass their own and move it by hand.
  using Now = std::function<TimePoint()>;
  CircuitBreaker(
      int threshold, std::chrono::milliseconds cooldown,
      Now now = [] { return std::chrono::steady_clock::now(); })
      : threshold_(threshold), cooldown_(cooldown), now_(std::move(now)) {}

  // unavailable when open (the caller should not call); OK to go ahead.
  Status admit() {
    MutexLock lk(mu_);
    const auto now = now_();
    if (state_ == State::open) {
      if (now - opened_at_ < cooldown_) {
        ++rejected_;
        const auto left =
            std::chrono::duration_cast<std::chrono::seconds>(cooldown_ - (now - opened_at_))
                .count() +
            1;
        return Status::unavailable("the engine failed " + std::to_string(threshold_) +
                                   " times in a row; circuit open, retry in " +
                                   std::to_string(left) + " s");
      }
      state_ = State::half_open;
      trial_ = true;
      return Status::ok();
    }
    if (state_ == State::half_open) {
      if (trial_) {
        ++rejected_;
        return Status::unavailable("the engine is being retried; circuit half-open");
      }
      trial_ = true;
    }
    return Status::ok();
  }

  void record(const Status& outcome) {
    MutexLock lk(mu_);
    const bool bad = outcome.code() == Code::unavailable ||
                     outcome.code() == Code::deadline_exceeded || outcome.code() == Code::internal;
    trial_ = false;
    if (!bad) {
      failures_ = 0;
      state_ = State::closed;
      return;
    }
    if (state_ == State::half_open || ++failures_ >= threshold_) {
      if (state_ != State::open) ++opened_;
      state_ = State::open;
      opened_at_ = now_();
    }
  }

  State state() const {
    MutexLock lk(mu_);
    return state_;
  }
  std::uint64_t rejected() const {
    MutexLock lk(mu_);
    return rejected_;
  }
  std::uint64_t opened() const {
    MutexLock lk(mu_);
    return opened_;
  }

 private:
  const int threshold_;
  const std::chrono::milliseconds cooldown_;
  const Now now_;
  mutable Mutex mu_;
  State state_ GUARDED_BY(mu_) = State::closed;
  int failures_ GUARDED_BY(mu_) = 0;
  bool trial_ GUARDED_BY(mu_) = false;
  TimePoint opened_at_ GUARDED_BY(mu_){};
  std::uint64_t rejected_ GUARDED_BY(mu_) = 0;
  std::uint64_t opened_ GUARDED_BY(mu_) = 0;
};

}  // namespace atelier
