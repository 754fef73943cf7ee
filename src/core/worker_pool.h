// A fixed set of threads fed by a bounded FIFO queue: CPU-heavy work runs here,
// off the network threads. When the queue is full, submit() fails at once with
// `unavailable` (the HTTP layer answers 503 + Retry-After) instead of letting
// callers wait without bound.
//
// Each task carries its WorkContext. A task whose client went away or whose
// deadline passed while it waited is not run: its callback receives the
// cancelled/deadline status instead, so the caller can still answer.
//
// Thread safety: submit(), stats() and shutdown() may be called from any
// thread. shutdown() waits for running tasks and fails the queued ones.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "core/cancel.h"
#include "core/mutex.h"
#include "core/status.h"

namespace atelier {

class WorkerPool {
 public:
  // `pre` is OK when the task should do its work, or the reason it must not.
  using Task = std::function<void(const Status& pre, SteadyClock::duration queued_for)>;

  struct Stats {
    std::size_t threads = 0;
    std::size_t capacity = 0;
    std::size_t queued = 0;
    std::size_t active = 0;
    std::uint64_t completed = 0;
    std::uint64_t rejected = 0;           // queue full
    std::uint64_t skipped_cancelled = 0;  // client gone before the task ran
    std::uint64_t skipped_expired = 0;    // deadline passed before the task ran
    std::uint64_t overran = 0;  // started in time, finished after its deadline (answered 504)
  };

  WorkerPool(std::string name, std::size_t threads, std::size_t queue_capacity);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Enqueues the task, or returns `unavailable` when the queue is full or the
  // pool is shutting down. The task is invoked exactly once when this is OK.
  Status submit(WorkContext ctx, Task task);

  Stats stats() const;
  const std::string& name() const { return name_; }
  // True when the queue is at capacity (readiness reports this).
  bool saturated() const;
  void shutdown();

 private:
  struct Item {
    WorkContext ctx;
    Task task;
    SteadyClock::time_point enqueued;
  };
  void run();

  const std::string name_;
  const std::size_t capacity_;
  mutable Mutex mu_;
  CondVar cv_;
  std::deque<Item> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  Stats stats_ GUARDED_BY(mu_);
  std::vector<std::thread> threads_;
};

}  // namespace atelier
