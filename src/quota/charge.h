// What one piece of metered work is charged: a request, or one message of a
// socket. The pipeline opens it with the units its route declares (reserved
// when the request was admitted); the handler may reserve more when the work
// grows with its input, and settles, through one call, the units of what it
// delivered (a stream's tokens). Work that fails gives back what was
// reserved; settled units stay, since they were delivered.
//
// Thread safety: every method may be called from any thread (a handler on a
// worker, and the pipeline answering 504 at the deadline).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"
#include "quota/limits.h"

namespace atelier {

class Charge {
 public:
  // `reserved` units were already taken from `identity`'s quota on `day`;
  // `daily_limit` (0: none) bounds what reserve() may add; `clock` says the
  // day of later reservations (the ledger's clock).
  Charge(QuotaLedger& ledger, std::string identity, std::int64_t daily_limit,
         std::int64_t reserved = 0, std::string day = {}, Clock clock = system_clock_seconds());

  // `units` more within the daily limit. Refused: resource_exhausted (the
  // quota; refusal() says which limit and when to retry) or unavailable
  // (usage cannot be counted now).
  Status reserve(std::int64_t units);
  // Units for what was delivered: charged past the limit and never refunded.
  void settle(std::int64_t units);
  // The work failed: what reserve() and the route took goes back, once.
  // Returns the units given back.
  std::int64_t refund();

  std::int64_t reserved() const;
  std::int64_t settled() const;
  std::optional<Decision> refusal() const;

 private:
  QuotaLedger& ledger_;
  const std::string identity_;
  const std::int64_t daily_limit_;
  const Clock clock_;
  mutable Mutex mu_;
  std::vector<std::pair<std::string, std::int64_t>> reserved_ GUARDED_BY(mu_);  // by UTC day
  std::int64_t settled_ GUARDED_BY(mu_) = 0;
  bool refunded_ GUARDED_BY(mu_) = false;
  std::optional<Decision> refusal_ GUARDED_BY(mu_);
};

}  // namespace atelier
