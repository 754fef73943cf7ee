// Admission by predicted completion. A burst of heavy requests used to be
// admitted whole: each ran, shared the cores with all the others, and nearly
// all of them missed their deadline (30 OCR analyses of 6000x6000 images with
// a 5 s deadline: 27-30 answered 504, the last after 7 s). Here each kind of
// work (a key: the route) has a learned service time, the admitted work not
// yet finished is the backlog, and a request is admitted only when
//   now + backlog / parallelism + its own estimate <= its deadline;
// otherwise it is refused at once (the caller answers 503 + Retry-After), so
// what is admitted finishes and the rest fails fast. With no backlog a
// request is always admitted, so an estimate that grew too large is measured
// again rather than refusing that work for ever.
//
// A kind with no estimate yet (its first requests after a start) is admitted
// and counts nothing in the backlog: a cold burst runs as before, and the
// pipeline's deadline timer still answers each by its deadline.
//
// Estimates are exponentially weighted means of measured service times. A
// time measured while k > parallelism tasks shared the cores is scaled by
// parallelism / k (k: the mean of the counts at admission and at the end),
// the work it stands for under processor sharing.
//
// Thread safety: all methods may be called concurrently. The clock is the
// caller's: times are passed in, so tests need no sleeping.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

#include "core/cancel.h"
#include "core/status.h"

namespace atelier {

class Admission {
 public:
  explicit Admission(double parallelism) : parallelism_(parallelism < 1 ? 1 : parallelism) {}

  struct Ticket {
    const void* key = nullptr;
    double estimate_ms = 0;
    double running_at_admission = 1;  // outstanding tasks, this one included
  };

  // OK with a ticket to hand back to done(), or unavailable with the
  // seconds after which a retry could fit in `*retry_after_s`.
  Result<Ticket> admit(const void* key, SteadyClock::time_point now,
                       SteadyClock::time_point deadline, int* retry_after_s);
  // The task finished (or was dropped unrun: ran = false); `service_ms` is
  // how long it ran.
  void done(const Ticket& t, bool ran, double service_ms);

  double estimate_ms(const void* key) const;  // 0 when unknown
  double backlog_ms() const;
  std::size_t outstanding() const;
  std::uint64_t refused() const;

 private:
  struct Kind {
    double estimate_ms = 0;  // 0: not measured yet
  };
  const double parallelism_;
  mutable std::mutex mu_;
  std::unordered_map<const void*, Kind> kinds_;  // guarded by mu_
  double backlog_ms_ = 0;                        // guarded by mu_
  std::size_t outstanding_ = 0;                  // guarded by mu_
  std::uint64_t refused_ = 0;                    // guarded by mu_
};

}  // namespace atelier
