// Idempotency-Key on the POSTs that create (the IETF httpapi draft "The
// Idempotency-Key HTTP Header Field"), stored over the database seam so every
// replica answers a retry the same way.
//
// A request with a key first claims (owner, key) with the fingerprint of what
// it asks. The first claim wins and runs; its answer is then stored against
// the key (complete) or, when it failed, the claim is dropped so the key can
// be used again (release). A later request with the same key is answered:
//   - the stored answer again, when it asks the same thing (a replay);
//   - 409 while the first is still running (in_progress);
//   - 422 when it asks something else with the key (mismatch).
// A claim whose request never completed (its process died) is stale after
// `stale_after_s` and may be claimed again. Keys are kept for a day.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <cstdint>
#include <string>

#include "core/cancel.h"
#include "core/status.h"
#include "store/database.h"

namespace atelier {

// An answer as stored for replay.
struct StoredAnswer {
  int status = 0;
  std::string content_type;
  std::string location;  // "" when the answer had none
  std::string body;
};

struct KeyClaim {
  enum Kind { claimed, replay, in_progress, mismatch } kind = claimed;
  StoredAnswer answer;  // set for replay
};

class IdempotencyRepository {
 public:
  static constexpr std::int64_t kKeepSeconds = 24 * 3600;

  explicit IdempotencyRepository(db::Database& db) : db_(db) {}
  IdempotencyRepository in(const WorkContext& work) const {
    IdempotencyRepository r(db_);
    r.work_ = work;
    return r;
  }

  // Claims `key` of `owner` for a request with `fingerprint` at `now_s`; a
  // claim still in progress since before now_s - stale_after_s is taken over.
  Result<KeyClaim> claim(const std::string& owner, const std::string& key,
                         const std::string& fingerprint, std::int64_t now_s,
                         std::int64_t stale_after_s);
  // Stores the answer of a claimed request. unauthenticated when the owner
  // is being erased (store/owners.h): nothing is written.
  Status complete(const std::string& owner, const std::string& key, const StoredAnswer& answer);
  // Drops a claim whose request failed: the key may be used again.
  Status release(const std::string& owner, const std::string& key);
  // Everything of one owner (account deletion).
  Status erase_owner(const std::string& owner);
  // Keys older than `before_s`; returns how many went.
  Result<std::int64_t> purge(std::int64_t before_s);

 private:
  db::Database& db_;
  WorkContext work_;
};

}  // namespace atelier
