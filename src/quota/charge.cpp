#include "quota/charge.h"

namespace atelier {

Charge::Charge(QuotaLedger& ledger, std::string identity, std::int64_t daily_limit,
               std::int64_t reserved, std::string day, Clock clock)
    : ledger_(ledger),
      identity_(std::move(identity)),
      daily_limit_(daily_limit),
      clock_(std::move(clock)) {
  if (reserved > 0) reserved_.emplace_back(std::move(day), reserved);
}

Status Charge::reserve(std::int64_t units) {
  if (units <= 0) return Status::ok();
  if (identity_.empty()) return Status::internal("nothing to charge: the caller is not known");
  const Decision q = ledger_.reserve(identity_, units, daily_limit_);
  MutexLock lock(mu_);
  if (!q.allowed) {
    refusal_ = q;
    if (q.binding.name == Limit::usage_store_unavailable)
      return Status::unavailable(describe_limit(q.binding));
    return Status::resource_exhausted(describe_limit(q.binding));
  }
  const std::string day = utc_day(clock_());
  if (refunded_) {
    // The work already ended as failed (an answer at the deadline): nothing to hold.
    ledger_.refund(identity_, day, units);
    return Status::deadline_exceeded("the request has ended");
  }
  if (!reserved_.empty() && reserved_.back().first == day)
    reserved_.back().second += units;
  else
    reserved_.emplace_back(day, units);
  return Status::ok();
}

void Charge::settle(std::int64_t units) {
  if (units <= 0 || identity_.empty()) return;
  ledger_.reserve(identity_, units, 0);  // delivered: past any limit
  MutexLock lock(mu_);
  settled_ += units;
}

std::int64_t Charge::refund() {
  std::vector<std::pair<std::string, std::int64_t>> back;
  {
    MutexLock lock(mu_);
    if (refunded_) return 0;
    refunded_ = true;
    back.swap(reserved_);
  }
  std::int64_t total = 0;
  for (const auto& [day, units] : back) {
    ledger_.refund(identity_, day, units);
    total += units;
  }
  return total;
}

std::int64_t Charge::reserved() const {
  MutexLock lock(mu_);
  std::int64_t total = 0;
  for (const auto& r : reserved_) total += r.second;
  return total;
}

std::int64_t Charge::settled() const {
  MutexLock lock(mu_);
  return settled_;
}

std::optional<Decision> Charge::refusal() const {
  MutexLock lock(mu_);
  return refusal_;
}

}  // namespace atelier
