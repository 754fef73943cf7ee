#include "core/admission.h"

#include <algorithm>
#include <cmath>

namespace atelier {
namespace {

double ms_between(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

}  // namespace

Admission::Admission(Options opt) : opt_(opt) {}

void Admission::advance(SteadyClock::time_point now) {
  if (last_ != SteadyClock::time_point{} && now > last_)
    area_ += static_cast<double>(running_) * ms_between(last_, now);
  if (now > last_) last_ = now;
}

Result<Admission::Ticket> Admission::admit(const void* key, SteadyClock::time_point now,
                                           SteadyClock::time_point deadline, int* retry_after_s) {
  MutexLock lock(mu_);
  const Kind& k = kinds_[key];
  const double estimate = k.estimate();
  // Refused only behind a backlog: alone, a request always runs (and its
  // measurement corrects an estimate that has grown too large).
  if (estimate > 0 && backlog_ms_ > 0 && deadline != SteadyClock::time_point::max()) {
    const double usable_ms = (1 - opt_.margin) * ms_between(now, deadline);
    if (backlog_ms_ + estimate > usable_ms) {
      *retry_after_s = std::max(1, static_cast<int>(std::ceil(backlog_ms_ / 1000.0)));
      ++refused_;
      return Status::unavailable(
          "busy: the work already admitted would not let this request finish "
          "before its deadline; retry later");
    }
  }
  Ticket t;
  t.key = key;
  t.estimate_ms = estimate;
  ++outstanding_;
  backlog_ms_ += estimate;
  return t;
}

void Admission::start(Ticket& t, SteadyClock::time_point now) {
  MutexLock lock(mu_);
  advance(now);
  ++running_;
  t.started = true;
  t.start = now;
  t.area_at_start = area_;
}

void Admission::done(const Ticket& t, bool ran, SteadyClock::time_point now) {
  MutexLock lock(mu_);
  advance(now);
  if (outstanding_ > 0) --outstanding_;
  backlog_ms_ = std::max(0.0, backlog_ms_ - t.estimate_ms);
  if (outstanding_ == 0) backlog_ms_ = 0;  // no rounding drift once idle
  if (!t.started) return;
  if (running_ > 0) --running_;
  const double service_ms = ms_between(t.start, now);
  if (!ran || service_ms <= 0) return;
  // The mean number of tasks running over this one's run, itself included.
  const double sharing = std::max(1.0, (area_ - t.area_at_start) / service_ms);
  const double drain_ms = service_ms / sharing;
  Kind& k = kinds_[t.key];
  if (k.mean_ms <= 0) {
    k.mean_ms = drain_ms;
    k.dev_ms = drain_ms / 2;
  } else {
    k.dev_ms = 0.75 * k.dev_ms + 0.25 * std::abs(k.mean_ms - drain_ms);
    k.mean_ms = 0.75 * k.mean_ms + 0.25 * drain_ms;
  }
}

double Admission::estimate_ms(const void* key) const {
  MutexLock lock(mu_);
  auto it = kinds_.find(key);
  return it == kinds_.end() ? 0 : it->second.estimate();
}

double Admission::backlog_ms() const {
  MutexLock lock(mu_);
  return backlog_ms_;
}

std::size_t Admission::outstanding() const {
  MutexLock lock(mu_);
  return outstanding_;
}

std::size_t Admission::running() const {
  MutexLock lock(mu_);
  return running_;
}

std::uint64_t Admission::refused() const {
  MutexLock lock(mu_);
  return refused_;
}

}  // namespace atelier
