#include "core/admission.h"

#include <algorithm>
#include <cmath>

namespace atelier {

Result<Admission::Ticket> Admission::admit(const void* key, SteadyClock::time_point now,
                                           SteadyClock::time_point deadline, int* retry_after_s) {
  std::lock_guard lock(mu_);
  Kind& k = kinds_[key];
  const double wait_ms = backlog_ms_ / parallelism_;
  // Refused only behind a backlog: alone, a request always runs (and its
  // measurement corrects an estimate that has grown too large).
  if (k.estimate_ms > 0 && wait_ms > 0 && deadline != SteadyClock::time_point::max()) {
    const double left_ms = std::chrono::duration<double, std::milli>(deadline - now).count();
    if (wait_ms + k.estimate_ms > left_ms) {
      *retry_after_s = std::max(1, static_cast<int>(std::ceil(wait_ms / 1000.0)));
      ++refused_;
      return Status::unavailable(
          "busy: the work already queued would not let this request finish "
          "before its deadline; retry later");
    }
  }
  Ticket t{key, k.estimate_ms, static_cast<double>(outstanding_ + 1)};
  ++outstanding_;
  backlog_ms_ += t.estimate_ms;
  return t;
}

void Admission::done(const Ticket& t, bool ran, double service_ms) {
  std::lock_guard lock(mu_);
  Kind& k = kinds_[t.key];
  const double running = (t.running_at_admission + static_cast<double>(outstanding_)) / 2;
  if (outstanding_ > 0) --outstanding_;
  backlog_ms_ = std::max(0.0, backlog_ms_ - t.estimate_ms);
  if (!ran || service_ms <= 0) return;
  const double work_ms = service_ms * std::min(1.0, parallelism_ / std::max(1.0, running));
  k.estimate_ms = k.estimate_ms <= 0 ? work_ms : 0.7 * k.estimate_ms + 0.3 * work_ms;
}

double Admission::estimate_ms(const void* key) const {
  std::lock_guard lock(mu_);
  auto it = kinds_.find(key);
  return it == kinds_.end() ? 0 : it->second.estimate_ms;
}

double Admission::backlog_ms() const {
  std::lock_guard lock(mu_);
  return backlog_ms_;
}

std::size_t Admission::outstanding() const {
  std::lock_guard lock(mu_);
  return outstanding_;
}

}  // namespace atelier

namespace atelier {
std::uint64_t Admission::refused() const {
  std::lock_guard lock(mu_);
  return refused_;
}
}  // namespace atelier
