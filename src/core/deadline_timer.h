// Runs callbacks at given times on one thread of its own: the pipeline uses
// it to answer 504 at a request's deadline even while the work is still
// running (the work stops at its next check; its late result is dropped).
//
// Thread safety: at() may be called from any thread; callbacks run on the
// timer's thread, one at a time, and must not block for long. The destructor
// stops the thread; callbacks not yet due are dropped.
#pragma once

#include <functional>
#include <queue>
#include <thread>
#include <vector>

#include "core/cancel.h"
#include "core/mutex.h"

namespace atelier {

class DeadlineTimer {
 public:
  DeadlineTimer();
  ~DeadlineTimer();
  DeadlineTimer(const DeadlineTimer&) = delete;
  DeadlineTimer& operator=(const DeadlineTimer&) = delete;

  void at(SteadyClock::time_point when, std::function<void()> fn);

 private:
  struct Entry {
    SteadyClock::time_point when;
    std::function<void()> fn;
    bool operator>(const Entry& o) const { return when > o.when; }
  };
  void run();

  Mutex mu_;
  CondVar cv_;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<>> due_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace atelier
