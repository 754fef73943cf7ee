// Users and API keys over the database seam (SQL written once for SQLite and
// PostgreSQL). Contract as Store's: not_found / already_exists for the
// expected misses and conflicts, unavailable when the database is out of
// reach or its pool is exhausted.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <string>
#include <vector>

#include "identity/account.h"
#include "store/database.h"

namespace atelier {

class AccountRepository {
 public:
  explicit AccountRepository(db::Database& db) : db_(db) {}
  // This repository for one request: its leases honour the request's
  // deadline and cancellation (db::Database::lease). Cheap to make per call.
  AccountRepository in(const WorkContext& work) const {
    AccountRepository r(db_);
    r.work_ = work;
    return r;
  }

  Result<User> create_user(const User& u);  // id and created_at are assigned
  Result<User> find_user(std::int64_t id);
  Result<User> find_user_by_email(const std::string& email);
  Status set_user_disabled(std::int64_t id, bool disabled, std::int64_t tokens_valid_after);
  // not_found when there is no such user; the role follows an admin tier.
  Status set_user_tier(std::int64_t id, Tier tier);
  // Every user, by id (the CLI's `users list`).
  Result<std::vector<User>> list_users();
  // The user, their keys and the usage rows of `identities`, in one transaction.
  Status delete_user(std::int64_t id, const std::vector<std::string>& identities);
  // The usage rows of `identities` (an account that is a key without a user).
  Status delete_usage(const std::vector<std::string>& identities);
  // Begins an owner's erasure: no write for it commits after this returns
  // (store/owners.h). Idempotent.
  Status mark_erased(const std::string& owner);

  Result<ApiKey> create_api_key(const ApiKey& k);
  Result<ApiKey> find_api_key_by_hash(const std::string& hash);
  Result<std::vector<ApiKey>> list_api_keys();
  // A page of keys by id: at most `limit` after `after_id`, only `user_id`'s when set.
  Result<std::vector<ApiKey>> list_api_keys(std::optional<std::int64_t> user_id,
                                            std::int64_t after_id, int limit);
  Status revoke_api_key(std::int64_t id);

 private:
  db::Database& db_;
  WorkContext work_;  // none: background work, bounded only by the pool wait
};

}  // namespace atelier
