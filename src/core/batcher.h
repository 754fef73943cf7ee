// Dynamic batching for model inference: callers on many threads hand in one
// input each; a model thread runs them together as one forward pass.
//
// Lanes: `lanes` model threads share the queue, each forming and running its
// own batches (lane k can own model replica k). No lane waits for another, so
// a slow forward on one never idles the rest, as a batch split across
// replicas behind one barrier would.
//
// Policy: a free lane takes its share of what is queued (split evenly among
// the lanes that are free), up to max_batch. Only while it is under load (its
// previous batch held more than one input) does it wait up to `window` for
// stragglers, so a lone request never pays the window (its latency stays the
// bare forward's).
//
// Bounded: a full queue refuses at once with `unavailable` (503 +
// Retry-After). Callers wait at most until their deadline; an input whose
// caller gave up (deadline, client gone) before its batch formed is dropped.
//
// Thread safety: run() from any number of threads. Each lane's thread calls
// the RunFn with its lane index and never concurrently with itself: state
// indexed by lane needs no lock (with one lane, the model needs none at all).
#pragma once

#include <algorithm>
#include <chrono>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/cancel.h"
#include "core/mutex.h"
#include "core/status.h"

namespace atelier {

struct BatcherOptions {
  std::string name;
  std::size_t max_batch = 8;
  std::chrono::microseconds window{5000};
  std::size_t queue_capacity = 64;
  std::size_t lanes = 1;  // model threads; see above
};

template <class In, class Out>
class Batcher {
 public:
  // Returns one result per input, in order. Runs on the model thread.
  using RunFn = std::function<std::vector<Result<Out>>(std::vector<In>& inputs)>;
  // The same, told which lane (0..lanes-1) runs it.
  using LaneRunFn =
      std::function<std::vector<Result<Out>>(std::vector<In>& inputs, std::size_t lane)>;
  // Called after every forward with the batch size and its duration.
  using ObserveFn = std::function<void(std::size_t batch, double seconds)>;

  Batcher(BatcherOptions opt, RunFn run, ObserveFn observe = {})
      : Batcher(
            std::move(opt),
            [f = std::move(run)](std::vector<In>& in, std::size_t) { return f(in); },
            std::move(observe)) {}
  Batcher(BatcherOptions opt, LaneRunFn run, ObserveFn observe = {})
      : opt_(std::move(opt)), run_(std::move(run)), observe_(std::move(observe)) {
    if (opt_.max_batch == 0) opt_.max_batch = 1;
    if (opt_.lanes == 0) opt_.lanes = 1;
    idle_lanes_ = opt_.lanes;
    busy_.assign(opt_.lanes, false);
    for (std::size_t k = 0; k < opt_.lanes; ++k) threads_.emplace_back([this, k] { loop(k); });
  }
  ~Batcher() {
    {
      MutexLock lk(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }
  Batcher(const Batcher&) = delete;
  Batcher& operator=(const Batcher&) = delete;

  // Enqueues one input; wait() for its result. Several submits followed by
  // their waits let one request's many inputs share a batch.
  Result<std::future<Result<Out>>> submit(In in, const WorkContext& work) {
    auto slot = std::make_shared<Slot>(Slot{std::move(in), work, {}, SteadyClock::now()});
    std::future<Result<Out>> fut = slot->done.get_future();
    {
      MutexLock lk(mu_);
      if (stopping_) return Status::unavailable(opt_.name + " is shutting down");
      if (queue_.size() >= opt_.queue_capacity) {
        ++rejected_;
        return Status::unavailable(opt_.name + " queue is full");
      }
      queue_.push_back(std::move(slot));
    }
    // A lane waiting out its window would swallow a lone wake-up meant for an idle one.
    if (opt_.lanes > 1) {
      cv_.notify_all();
    } else {
      cv_.notify_one();
    }
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
    MutexLock lk(mu_);
    return queue_.size();
  }
  std::uint64_t rejected() const {
    MutexLock lk(mu_);
    return rejected_;
  }
  const BatcherOptions& options() const { return opt_; }

 private:
  struct Slot {
    In in;
    WorkContext work;
    std::promise<Result<Out>> done;
    SteadyClock::time_point enqueued;
  };

  bool lower_lanes_busy(std::size_t lane) const REQUIRES(mu_) {  // mu_ held
    for (std::size_t k = 0; k < lane; ++k) {
      if (!busy_[k]) return false;
    }
    return true;
  }

  void loop(std::size_t lane) {
    std::size_t last_batch = 0;
    for (;;) {
      std::vector<std::shared_ptr<Slot>> batch;
      bool more = false;
      {
        MutexLock lk(mu_);
        // Lower lanes first: a lone request always lands on lane 0, whose
        // model stays warm in cache, instead of on whichever lane wakes first.
        while (!(stopping_ || (!queue_.empty() && lower_lanes_busy(lane)))) cv_.wait(mu_);
        if (stopping_ && queue_.empty()) return;
        if (last_batch > 1 && queue_.size() < opt_.max_batch && !stopping_) {
          const auto until = SteadyClock::now() + opt_.window;
          while (!(stopping_ || queue_.size() >= opt_.max_batch)) {
            if (!cv_.wait_until(mu_, until)) break;
          }
        }
        // An even share for each free lane, so a burst spreads over them.
        const std::size_t share =
            (queue_.size() + idle_lanes_ - 1) / std::max<std::size_t>(1, idle_lanes_);
        const std::size_t take = std::clamp<std::size_t>(share, 1, opt_.max_batch);
        while (!queue_.empty() && batch.size() < take) {
          auto s = std::move(queue_.front());
          queue_.pop_front();
          Status pre = s->work.check();
          if (!pre.is_ok()) {
            s->done.set_value(pre);
            continue;
          }
          batch.push_back(std::move(s));
        }
        if (!batch.empty()) {
          --idle_lanes_;
          busy_[lane] = true;
        }
        more = !queue_.empty();
      }
      last_batch = batch.size();
      if (batch.empty()) continue;
      if (more) cv_.notify_all();  // what is left is another lane's share
      std::vector<In> inputs;
      inputs.reserve(batch.size());
      for (auto& s : batch) inputs.push_back(std::move(s->in));
      const auto t = SteadyClock::now();
      std::vector<Result<Out>> outs;
      std::string failure;
      try {
        outs = run_(inputs, lane);
      } catch (const std::exception& e) {
        outs.clear();
        failure = opt_.name + ": " + e.what();
      }
      const auto finished = SteadyClock::now();
      if (observe_) observe_(batch.size(), std::chrono::duration<double>(finished - t).count());
      // Each request's share of the story: how long it waited for a lane, and
      // the forward pass it rode in.
      for (auto& s : batch) {
        if (!s->work.timings) continue;
        s->work.timings->add("model_wait",
                             std::chrono::duration<double, std::milli>(t - s->enqueued).count());
        s->work.timings->add("forward",
                             std::chrono::duration<double, std::milli>(finished - t).count());
      }
      {
        MutexLock lk(mu_);
        ++idle_lanes_;
        busy_[lane] = false;
      }
      for (std::size_t i = 0; i < batch.size(); ++i) {
        if (i < outs.size()) {
          batch[i]->done.set_value(std::move(outs[i]));
        } else {
          batch[i]->done.set_value(
              Status::internal(failure.empty() ? opt_.name + ": missing output" : failure));
        }
      }
    }
  }

  BatcherOptions opt_;
  LaneRunFn run_;
  ObserveFn observe_;
  mutable Mutex mu_;
  CondVar cv_;
  std::deque<std::shared_ptr<Slot>> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::uint64_t rejected_ GUARDED_BY(mu_) = 0;
  std::size_t idle_lanes_ GUARDED_BY(mu_) = 0;
  std::vector<bool> busy_ GUARDED_BY(mu_);  // per lane
  std::vector<std::thread> threads_;
};

}  // namespace atelier
