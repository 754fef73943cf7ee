// Turns request credentials into an Identity, and owns the account operations
// (register, login, API keys) that create those credentials.
//
// Credentials: `Authorization: Bearer <API key or JWT>` or `X-API-Key: <key>`.
// API keys look like `atl_<prefix>_<secret>`; only their SHA-256 is stored
// (keys are 190+ random bits, so a slow hash adds nothing). Keys verified
// against the store are cached in memory, by the presented key, for the cache
// TTL (`kKeyCacheTtl` unless configured): a revocation made by another process
// takes effect within that time, one made through this process or broadcast
// to it at once. A lookup that read the store before an invalidation arrived
// does not put its (stale) answer in the cache: every invalidation bumps a
// generation that a fill must still see unchanged.
//
// JWTs are checked against their user as well as their signature: a token
// whose user no longer exists, is disabled, or was issued before the user's
// `tokens_valid_after` (or before the account was created, should an id be
// reused) is refused. Users are cached like keys; forget_user() drops a user
// from both caches at once (deletion and disabling through this process).
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <unordered_map>

#include "core/mutex.h"
#include "identity/account_repository.h"
#include "identity/crypto.h"
#include "identity/identity.h"
#include "identity/jwt.h"

namespace atelier {

struct NewKey {
  ApiKey key;          // as stored
  std::string secret;  // the full key, shown once
};

class Authenticator {
 public:
  static constexpr std::chrono::seconds kKeyCacheTtl{2};

  Authenticator(AccountRepository& store, JwtCodec jwt, PasswordParams pw, bool allow_anonymous,
                std::chrono::seconds cache_ttl = kKeyCacheTtl)
      : store_(store),
        jwt_(std::move(jwt)),
        pw_(pw),
        allow_anonymous_(allow_anonymous),
        cache_ttl_(cache_ttl) {}

  // `authorization` and `api_key` are the raw header values (may be empty).
  // No credentials: an anonymous free-tier identity keyed by client IP when
  // anonymous callers are allowed, else unauthenticated.
  Result<Identity> authenticate(std::string_view authorization, std::string_view api_key,
                                const std::string& client_ip);

  // Account operations. register_user/login hash or verify a password:
  // call them from the worker pool. `work`: the request's, so database leases
  // end with its deadline or cancellation (none from the CLI).
  Result<User> register_user(const std::string& email, const std::string& password, Tier tier,
                             Role role, const WorkContext& work = {});
  // On success returns a signed token for the user.
  Result<std::string> login(const std::string& email, const std::string& password,
                            User* user_out = nullptr, const WorkContext& work = {});
  Result<std::string> issue_token(const User& u);
  Result<NewKey> create_key(const std::string& name, Tier tier, std::optional<std::int64_t> user_id,
                            const WorkContext& work = {});
  Status revoke_key(std::int64_t id, const WorkContext& work = {});
  // Ends every credential of the user in this process now (keys and tokens);
  // other processes follow within cache_ttl(), or at once with a broadcast.
  void forget_user(std::int64_t user_id);

  // Replicas: revocations, forgotten users and changed accounts are published
  // ("key:<id>", "user:<id>", "account:<id>": disabled, enabled, a new tier,
  // read again from the store) so that every replica drops them at once
  // (set before serving). apply() is what a replica does with one it
  // received; clear_caches() after a broadcast may have been missed.
  void set_broadcast(std::function<void(const std::string& event)> publish) {
    publish_ = std::move(publish);
  }
  void apply(const std::string& event);
  void clear_caches();
  Result<std::vector<ApiKey>> list_keys(const WorkContext& work = {}) {
    return store_.in(work).list_api_keys();
  }
  // A page of keys by id (AccountRepository::list_api_keys).
  Result<std::vector<ApiKey>> list_keys(std::optional<std::int64_t> user_id, std::int64_t after_id,
                                        int limit, const WorkContext& work = {}) {
    return store_.in(work).list_api_keys(user_id, after_id, limit);
  }

  const JwtCodec& jwt() const { return jwt_; }
  bool allow_anonymous() const { return allow_anonymous_; }
  std::chrono::seconds cache_ttl() const { return cache_ttl_; }
  // Tests only: runs after a lookup read the store and before it fills the
  // cache (where a broadcast can arrive). Set before use.
  void set_after_store_read_for_testing(std::function<void()> f) { after_read_ = std::move(f); }

 private:
  Result<Identity> from_api_key(std::string_view key) EXCLUDES(mu_);
  Result<Identity> from_jwt(const std::string& token);

  struct CachedKey {
    std::int64_t key_id = 0;
    bool revoked = false;
    Identity identity;  // ready to hand out: no per-request string building
    std::chrono::steady_clock::time_point expires;
  };

  struct CachedUser {
    bool exists = false;
    bool disabled = false;
    std::int64_t not_before = 0;  // tokens issued earlier are refused
    std::chrono::steady_clock::time_point expires;
  };
  Result<CachedUser> user_state(std::int64_t user_id) EXCLUDES(mu_);
  // A key that acts for a user answers only while that user may sign in.
  Result<Identity> unless_user_disabled(Identity id) EXCLUDES(mu_);
  void drop_key(std::int64_t key_id) EXCLUDES(mu_);
  // `gone`: remembered as deleted for the TTL; else merely read again.
  void drop_user(std::int64_t user_id, bool gone = true) EXCLUDES(mu_);
  std::function<void(const std::string&)> publish_;  // set before serving
  std::function<void()> after_read_;                 // tests only; set before use

  AccountRepository& store_;
  JwtCodec jwt_;
  PasswordParams pw_;
  bool allow_anonymous_;
  const std::chrono::seconds cache_ttl_;
  Mutex mu_;
  std::uint64_t generation_ GUARDED_BY(mu_) = 0;  // bumped by every invalidation
  std::unordered_map<std::string, CachedKey> key_cache_ GUARDED_BY(mu_);  // by presented key
  std::unordered_map<std::int64_t, CachedUser> user_cache_ GUARDED_BY(mu_);
  std::string dummy_hash_ GUARDED_BY(mu_);
};

// Validation shared by the CLI and the HTTP API.
Status validate_email(const std::string& email);
Status validate_password(const std::string& password);

}  // namespace atelier
