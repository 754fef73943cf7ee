#include "core/deadline_timer.h"

namespace atelier {

DeadlineTimer::DeadlineTimer() : thread_([this] { run(); }) {}

DeadlineTimer::~DeadlineTimer() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void DeadlineTimer::at(SteadyClock::time_point when, std::function<void()> fn) {
  {
    MutexLock lock(mu_);
    due_.push({when, std::move(fn)});
  }
  cv_.notify_all();
}

void DeadlineTimer::run() {
  MutexLock lock(mu_);
  while (!stopping_) {
    if (due_.empty()) {
      cv_.wait(mu_);
      continue;
    }
    const auto when = due_.top().when;
    if (SteadyClock::now() < when) {
      cv_.wait_until(mu_, when);
      continue;
    }
    auto fn = std::move(const_cast<Entry&>(due_.top()).fn);
    due_.pop();
    lock.unlock();
    fn();
    lock.lock();
  }
}

}  // namespace atelier
