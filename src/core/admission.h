// Admission by predicted completion. A burst of heavy requests used to be
// admitted whole: each ran, shared the cores with all the others, and nearly
// all of them missed their deadline. Here a request is admitted only when
// the work already admitted and its own are predicted to be done within its
// deadline, less a margin; otherwise it is refused at once (the caller
// answers 503 + Retry-After), so what is admitted finishes and the rest
// fails fast.
//
// What is learned, per kind of work (a key: the route), is its *drain*: how
// much of the server's time one task takes when tasks share it, measured as
// the task's service time divided by the mean number of tasks running
// beside it over its run (the time integral of the running count, so a task
// that ran alone for half its time and beside three others for the rest
// counts 2.5). Measured this way the figure already holds whatever the
// machine gave this process while it ran: cores taken by other programs,
// work that uses several cores per task, lock contention. No core count is
// assumed. A busy machine makes tasks slower, their drain larger, and the
// next admissions fewer.
//
// The estimate used is the mean drain plus twice its mean deviation (the way
// TCP sets a retransmission timer from round-trip samples): a kind measured
// once, or one whose times vary, is admitted cautiously; steady
// measurements tighten it. A request is admitted when
//   backlog + estimate <= (1 - margin) * (deadline - now)
// where the backlog is the sum of the estimates of admitted tasks not yet
// finished (queued or running). Under processor sharing every admitted task
// then finishes by about that sum; under a FIFO pool earlier ones sooner.
//
// With nothing admitted a request is always admitted, so an estimate that
// grew too large is measured again rather than refusing that work for ever.
// A kind with no estimate yet (its first requests after a start) is admitted
// and counts nothing in the backlog: a cold burst runs as before, and the
// pipeline's deadline timer still answers each by its deadline.
//
// Thread safety: all methods may be called concurrently. The clock is the
// caller's: times are passed in, so tests need no sleeping.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <unordered_map>

#include "core/cancel.h"
#include "core/mutex.h"
#include "core/status.h"

namespace atelier {

class Admission {
 public:
  struct Options {
    // The share of the time left before a deadline that admission keeps in
    // reserve for estimates that turn out low.
    double margin = 0.25;
  };
  Admission() : Admission(Options{}) {}
  explicit Admission(Options opt);

  struct Ticket {
    const void* key = nullptr;
    double estimate_ms = 0;  // what it added to the backlog
    bool started = false;
    SteadyClock::time_point start;
    double area_at_start = 0;  // the running-count integral (task-ms) at start
  };

  // OK with a ticket for start() and done(), or unavailable with the seconds
  // after which a retry could fit in `*retry_after_s`.
  Result<Ticket> admit(const void* key, SteadyClock::time_point now,
                       SteadyClock::time_point deadline, int* retry_after_s);
  // The task begins to run (leaves its queue).
  void start(Ticket& t, SteadyClock::time_point now);
  // The task finished (ran = true) or was dropped, before or after start().
  void done(const Ticket& t, bool ran, SteadyClock::time_point now);

  double estimate_ms(const void* key) const;  // mean + 2 deviations; 0 when unknown
  double backlog_ms() const;
  std::size_t outstanding() const;
  std::size_t running() const;
  std::uint64_t refused() const;

 private:
  struct Kind {
    double mean_ms = 0;  // 0: not measured yet
    double dev_ms = 0;
    double estimate() const { return mean_ms + 2 * dev_ms; }
  };
  // Brings the running-count integral up to `now`; mu_ held.
  void advance(SteadyClock::time_point now) REQUIRES(mu_);

  const Options opt_;
  mutable Mutex mu_;
  std::unordered_map<const void*, Kind> kinds_ GUARDED_BY(mu_);
  double backlog_ms_ GUARDED_BY(mu_) = 0;
  std::size_t outstanding_ GUARDED_BY(mu_) = 0;     // admitted, not done
  std::size_t running_ GUARDED_BY(mu_) = 0;         // started, not done
  double area_ GUARDED_BY(mu_) = 0;                 // integral of running_, task-ms
  SteadyClock::time_point last_ GUARDED_BY(mu_){};  // when area_ was brought up to date
  std::uint64_t refused_ GUARDED_BY(mu_) = 0;
};

}  // namespace atelier
