// Named phases of one request's work, reported in its Server-Timing header:
// the pipeline gives each pool request a Timings, the handler and the
// engines it calls add what they measured (image decode, waiting for a model
// lane, the forward pass, output decoding, JSON), so a slow answer says where
// its time went.
//
// Thread safety: add() and entries() from any thread (a model lane adds its
// batch's times for every request in it).
#pragma once

#include <chrono>
#include <utility>
#include <vector>

#include "core/mutex.h"

namespace atelier {

class Timings {
 public:
  // `name` must have static storage (a string literal): it is kept, not copied.
  void add(const char* name, double ms) {
    MutexLock lock(mu_);
    entries_.emplace_back(name, ms);
  }
  std::vector<std::pair<const char*, double>> entries() const {
    MutexLock lock(mu_);
    return entries_;
  }

 private:
  mutable Mutex mu_;
  std::vector<std::pair<const char*, double>> entries_ GUARDED_BY(mu_);
};

// Adds the time since construction to `timings` (if any) as `name`.
class ScopedTiming {
 public:
  ScopedTiming(Timings* timings, const char* name)
      : timings_(timings), name_(name), start_(std::chrono::steady_clock::now()) {}
  ~ScopedTiming() {
    if (timings_) {
      timings_->add(name_, std::chrono::duration<double, std::milli>(
                               std::chrono::steady_clock::now() - start_)
                               .count());
    }
  }
  ScopedTiming(const ScopedTiming&) = delete;
  ScopedTiming& operator=(const ScopedTiming&) = delete;

 private:
  Timings* timings_;
  const char* name_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace atelier
