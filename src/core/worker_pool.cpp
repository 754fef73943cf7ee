#include "core/worker_pool.h"

namespace atelier {

WorkerPool::WorkerPool(std::string name, std::size_t threads, std::size_t queue_capacity)
    : name_(std::move(name)), capacity_(queue_capacity) {
  if (threads == 0) threads = 1;
  stats_.threads = threads;
  stats_.capacity = capacity_;
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { run(); });
}

WorkerPool::~WorkerPool() {
  shutdown();
}

Status WorkerPool::submit(WorkContext ctx, Task task) {
  {
    MutexLock lock(mu_);
    if (stopping_) return Status::unavailable("server is shutting down");
    if (queue_.size() >= capacity_) {
      ++stats_.rejected;
      return Status::unavailable("the " + name_ + " work queue is full");
    }
    queue_.push_back(Item{std::move(ctx), std::move(task), SteadyClock::now()});
    stats_.queued = queue_.size();
  }
  cv_.notify_one();
  return Status::ok();
}

WorkerPool::Stats WorkerPool::stats() const {
  MutexLock lock(mu_);
  return stats_;
}

bool WorkerPool::saturated() const {
  MutexLock lock(mu_);
  return queue_.size() >= capacity_;
}

void WorkerPool::shutdown() {
  std::deque<Item> orphans;
  {
    MutexLock lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    orphans.swap(queue_);
    stats_.queued = 0;
  }
  cv_.notify_all();
  for (auto& item : orphans) {
    item.task(Status::unavailable("server is shutting down"), SteadyClock::now() - item.enqueued);
  }
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void WorkerPool::run() {
  for (;;) {
    Item item;
    {
      MutexLock lock(mu_);
      while (!stopping_ && queue_.empty()) cv_.wait(mu_);
      if (queue_.empty()) return;  // stopping and drained
      item = std::move(queue_.front());
      queue_.pop_front();
      stats_.queued = queue_.size();
      ++stats_.active;
    }
    const auto waited = SteadyClock::now() - item.enqueued;
    Status pre = item.ctx.check();
    item.task(pre, waited);
    {
      MutexLock lock(mu_);
      --stats_.active;
      if (pre.is_ok()) {
        ++stats_.completed;
        if (item.ctx.deadline.expired()) ++stats_.overran;
      } else if (pre.code() == Code::cancelled) {
        ++stats_.skipped_cancelled;
      } else {
        ++stats_.skipped_expired;
      }
    }
  }
}

}  // namespace atelier
