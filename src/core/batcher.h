// Dynamic batching for model inference: callers on many threads hand in one
// input each; a single model thread runs them together as one forward pass.
//
// Policy: when the model thread is free it takes everything queued, up to
// max_batch. Only while the model is under load (the previous batch held more
// than one input) does it wait up to `window` for stragglers, so a lone
// request never pays the window (its latency stays the bare forward's).
//
// Bounded: a full queue refuses at once with `unavailable` (503 +
// Retry-After). Callers wait at most until their deadline; an input whose
// caller gave up (deadline, client gone) before its batch formed is dropped.
//
// Thread safety: run() from any number of threads; one internal model thread
// calls the RunFn, so the model object it closes over needs no lock.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"

namespace atelier {

struct BatcherOptions {
  std::string name;
  std::size_t max_batch = 8;
  std::chrono::microseconds window{5000};
  std::size_t queue_capacity = 64;
};

template <class In, class Out>
class Batcher {
 public:
  // Returns one result per input, in order. Runs on the model thread.
  using RunFn = std::function<std::vector<Result<Out>>(std::vector<In>& inputs)>;
  // Called after every forward with the batch size and its duration.
  using ObserveFn = std::function<void(std::size_t batch, double seconds)>;

  Batcher(BatcherOptions opt, RunFn run, ObserveFn observe = {})
      : opt_(std::move(opt)), run_(std::move(run)), observe_(std::move(observe)) {
    if (opt_.max_batch == 0) opt_.max_batch = 1;
    thread_ = std::thread([this] { loop(); });
  }
  ~Batcher() {
    {
      std::lock_guard lk(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Enqueues one input; wait() for its result. Several submits followed by
  // their waits let one request's many inputs share a batch.
  Result<std::future<Result<Out>>> submit(In in, const WorkContext& work) {
    auto slot = std::make_shared<Slot>(Slot{std::move(in), work, {}});
    std::future<Result<Out>> fut = slot->done.get_future();
    {
      std::lock_guard lk(mu_);
      if (stopping_) return Status::unavailable(opt_.name + " is shutting down");
      if (queue_.size() >= opt_.queue_capacity) {
        ++rejected_;
        return Status::unavailable(opt_.name + " queue is full");
      }
      queue_.push_back(std::move(slot));
    }
    cv_.notify_one();
    return fut;
  }

  // Blocks until the input's batch ran, the work's deadline passed or its
  // client went away (the input is then skipped when its batch forms).
  static Result<Out> wait(std::future<Result<Out>>& fut, const WorkContext& work) {
    // Poll in slices so a client that hangs up frees its thread promptly.
    for (;;) {
      auto until = std::min(work.deadline.at, SteadyClock::now() + std::chrono::milliseconds(50));
      if (fut.wait_until(until) == std::future_status::ready) return fut.get();
      Status s = work.check();
      if (!s.is_ok()) return s;
    }
  }

  Result<Out> run(In in, const WorkContext& work) {
    auto fut = submit(std::move(in), work);
    if (!fut.is_ok()) return fut.status();
    return wait(fut.value(), work);
  }

  std::size_t queued() const {
    std::lock_guard lk(mu_);
    return queue_.size();
  }
  std::uint64_t rejected() const {
    std::lock_guard lk(mu_);
    return rejected_;
  }
  const BatcherOptions& options() const { return opt_; }

 private:
  struct Slot {
    In in;
    WorkContext work;
    std::promise<Result<Out>> done;
  };

  void loop() {
    std::size_t last_batch = 0;
    for (;;) {
      std::vector<std::shared_ptr<Slot>> batch;
      {
        std::unique_lock lk(mu_);
        cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
        if (stopping_ && queue_.empty()) return;
        if (last_batch > 1 && queue_.size() < opt_.max_batch && !stopping_) {
          const auto until = SteadyClock::now() + opt_.window;
          cv_.wait_until(lk, until, [&] { return stopping_ || queue_.size() >= opt_.max_batch; });
        }
        while (!queue_.empty() && batch.size() < opt_.max_batch) {
          auto s = std::move(queue_.front());
          queue_.pop_front();
          Status pre = s->work.check();
          if (!pre.is_ok()) {
            s->done.set_value(pre);
            continue;
          }
          batch.push_back(std::move(s));
        }
      }
      last_batch = batch.size();
      if (batch.empty()) continue;
      std::vector<In> inputs;
      inputs.reserve(batch.size());
      for (auto& s : batch) inputs.push_back(std::move(s->in));
      const auto t = SteadyClock::now();
      std::vector<Result<Out>> outs;
      std::string failure;
      try {
        outs = run_(inputs);
      } catch (const std::exception& e) {
        outs.clear();
        failure = opt_.name + ": " + e.what();
      }
      if (observe_) observe_(batch.size(), std::chrono::duration<double>(SteadyClock::now() - t).count());
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (i < outs.size()) {
          batch[i]->done.set_value(std::move(outs[i]));
        } else {
          batch[i]->done.set_value(Status::internal(failure.empty() ? opt_.name + ": missing output" : failure));
        }
      }
    }
  }

  BatcherOptions opt_;
  RunFn run_;
  ObserveFn observe_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Slot>> queue_;  // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  std::uint64_t rejected_ = 0;               // guarded by mu_
  std::thread thread_;
};

}  // namespace atelier
