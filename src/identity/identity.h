// Who is calling. Built once per request by the Authenticator and passed by
// const reference to everything after it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "config/config.h"
#include "identity/account.h"

namespace atelier {

enum class Credential { none, api_key, jwt };

struct Identity {
  // Stable key for quotas and limits: "user:<id>", "key:<id>" or "ip:<addr>".
  // Never used as a metric label (cardinality); per-identity figures are
  // served by /v1/rate-limit/status.
  std::string id;
  Tier tier = Tier::free;
  Role role = Role::user;
  Credential credential = Credential::none;
  std::optional<std::int64_t> user_id;
  std::optional<std::int64_t> key_id;

  bool anonymous() const { return credential == Credential::none; }
  bool admin() const { return role == Role::admin; }
};

}  // namespace atelier
