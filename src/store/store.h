// The storage seam. The SQLite implementation is the embedded default; a
// PostgreSQL implementation will sit behind the same interface, so nothing
// here names an SQLite type and the SQL the implementations use is portable.
//
// Thread safety: every method may be called from any thread concurrently.
// Contract: methods return not_found / already_exists for the expected
// misses and conflicts, unavailable when the database cannot be reached,
// internal for anything else; they never throw.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/status.h"

namespace atelier {

enum class Role { user = 0, admin = 1 };

struct User {
  std::int64_t id = 0;
  std::string email;
  std::string password_hash;  // argon2id encoded string
  Tier tier = Tier::authenticated;
  Role role = Role::user;
  std::int64_t created_at = 0;  // unix seconds
  bool disabled = false;
};

struct ApiKey {
  std::int64_t id = 0;
  std::optional<std::int64_t> user_id;
  std::string name;
  std::string prefix;  // shown in listings; the secret is never stored
  std::string hash;    // hex SHA-256 of the whole key
  Tier tier = Tier::free;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> revoked_at;
};

// Units and requests to add to one identity's counter for one UTC day.
struct UsageDelta {
  std::string identity;
  std::string day;  // YYYY-MM-DD
  std::int64_t units = 0;
  std::int64_t requests = 0;
};

struct Usage {
  std::int64_t units = 0;
  std::int64_t requests = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Applies pending migrations; returns the schema version reached.
  virtual Result<int> migrate() = 0;
  virtual Result<int> schema_version() = 0;
  // Cheap round trip for readiness.
  virtual Status ping() = 0;
  virtual std::string describe() const = 0;

  virtual Result<User> create_user(const User& u) = 0;  // id and created_at are assigned
  virtual Result<User> find_user(std::int64_t id) = 0;
  virtual Result<User> find_user_by_email(const std::string& email) = 0;

  virtual Result<ApiKey> create_api_key(const ApiKey& k) = 0;
  virtual Result<ApiKey> find_api_key_by_hash(const std::string& hash) = 0;
  virtual Result<std::vector<ApiKey>> list_api_keys() = 0;
  virtual Status revoke_api_key(std::int64_t id) = 0;

  // Adds all deltas in one transaction.
  virtual Status add_usage(const std::vector<UsageDelta>& deltas) = 0;
  virtual Result<Usage> get_usage(const std::string& identity, const std::string& day) = 0;
};

using StorePtr = std::unique_ptr<Store>;

}  // namespace atelier
