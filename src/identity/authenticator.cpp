#include "identity/authenticator.h"

#include <charconv>

#include <algorithm>
#include <cctype>

#include "core/clock.h"

namespace atelier {
namespace {

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Status validate_email(const std::string& email) {
  auto at = email.find('@');
  if (email.size() < 3 || email.size() > 254 || at == std::string::npos || at == 0 ||
      at == email.size() - 1 || email.find('@', at + 1) != std::string::npos ||
      email.find('.', at) == std::string::npos) {
    return Status::invalid_argument("email must look like name@example.com");
  }
  for (unsigned char c : email) {
    if (c <= 0x20 || c == 0x7f)
      return Status::invalid_argument("email must not contain spaces or control characters");
  }
  return Status::ok();
}

Status validate_password(const std::string& password) {
  if (password.size() < 8)
    return Status::invalid_argument("password must have at least 8 characters");
  if (password.size() > 256)
    return Status::invalid_argument("password must have at most 256 characters");
  return Status::ok();
}

Result<Identity> Authenticator::authenticate(std::string_view authorization,
                                             std::string_view api_key,
                                             const std::string& client_ip) {
  authorization = trim(authorization);
  api_key = trim(api_key);
  if (!authorization.empty()) {
    if (!starts_with_ci(authorization, "bearer ")) {
      return Status::unauthenticated("Authorization must use the Bearer scheme");
    }
    auto credential = trim(authorization.substr(7));
    if (credential.empty()) return Status::unauthenticated("empty bearer credential");
    if (credential.rfind("atl_", 0) == 0) return from_api_key(credential);
    return from_jwt(std::string(credential));
  }
  if (!api_key.empty()) return from_api_key(api_key);
  if (!allow_anonymous_)
    return Status::unauthenticated("credentials required: an API key or a bearer token");
  Identity id;
  id.id = "ip:" + client_ip;
  id.tier = Tier::free;
  return id;
}

Result<Identity> Authenticator::from_api_key(std::string_view key) {
  if (key.size() > 200 || key.rfind("atl_", 0) != 0)
    return Status::unauthenticated("malformed API key");
  const auto now = std::chrono::steady_clock::now();
  const std::string presented(key);
  std::uint64_t generation = 0;
  {
    MutexLock lock(mu_);
    auto it = key_cache_.find(presented);
    if (it != key_cache_.end() && it->second.expires > now) {
      if (it->second.revoked) return Status::unauthenticated("API key revoked");
      Identity cached = it->second.identity;
      lock.unlock();
      return unless_user_disabled(std::move(cached));
    }
    generation = generation_;
  }
  auto found = store_.find_api_key_by_hash(sha256_hex(key));
  if (!found.is_ok()) {
    if (found.status().code() == Code::not_found) return Status::unauthenticated("unknown API key");
    return found.status();
  }
  if (after_read_) after_read_();
  const ApiKey& k = *found;
  CachedKey entry;
  entry.key_id = k.id;
  entry.revoked = k.revoked_at.has_value();
  entry.expires = now + cache_ttl_;
  Identity& id = entry.identity;
  id.credential = Credential::api_key;
  id.key_id = k.id;
  id.tier = k.tier;
  id.role = k.tier == Tier::admin ? Role::admin : Role::user;
  if (k.user_id) {
    id.user_id = k.user_id;
    id.id = "user:" + std::to_string(*k.user_id);
  } else {
    id.id = "key:" + std::to_string(k.id);
  }
  {
    MutexLock lock(mu_);
    // An invalidation since the read may concern this key: not cached.
    if (generation == generation_) {
      if (key_cache_.size() > 100000) key_cache_.clear();  // bounded; refills from the store
      key_cache_[presented] = entry;
    }
  }
  if (entry.revoked) return Status::unauthenticated("API key revoked");
  return unless_user_disabled(entry.identity);
}

Result<Identity> Authenticator::unless_user_disabled(Identity id) {
  if (!id.user_id) return id;
  ATELIER_ASSIGN_OR_RETURN(CachedUser u, user_state(*id.user_id));
  if (!u.exists) return Status::unauthenticated("the key's user no longer exists");
  if (u.disabled) return Status::unauthenticated("the key's user is disabled");
  return id;
}

Result<Authenticator::CachedUser> Authenticator::user_state(std::int64_t user_id) {
  const auto now = std::chrono::steady_clock::now();
  std::uint64_t generation = 0;
  {
    MutexLock lock(mu_);
    auto it = user_cache_.find(user_id);
    if (it != user_cache_.end() && it->second.expires > now) return it->second;
    generation = generation_;
  }
  CachedUser u;
  auto found = store_.find_user(user_id);
  if (found.is_ok()) {
    u.exists = true;
    u.disabled = found->disabled;
    u.not_before = std::max(found->created_at, found->tokens_valid_after);
  } else if (found.status().code() != Code::not_found) {
    return found.status();
  }
  if (after_read_) after_read_();
  u.expires = now + cache_ttl_;
  MutexLock lock(mu_);
  if (generation != generation_) return u;  // an invalidation since the read: not cached
  if (user_cache_.size() > 100000) user_cache_.clear();
  user_cache_[user_id] = u;
  return u;
}

void Authenticator::forget_user(std::int64_t user_id) {
  drop_user(user_id);
  if (publish_) publish_("user:" + std::to_string(user_id));
}

void Authenticator::drop_user(std::int64_t user_id, bool gone) {
  MutexLock lock(mu_);
  ++generation_;
  for (auto it = key_cache_.begin(); it != key_cache_.end();) {
    it = it->second.identity.user_id == user_id ? key_cache_.erase(it) : std::next(it);
  }
  if (!gone) {
    user_cache_.erase(user_id);
    return;
  }
  // Remembered as gone (not merely uncached) until the TTL passes, so a
  // token presented right after deletion cannot race a store read.
  user_cache_[user_id] = CachedUser{false, true, 0, std::chrono::steady_clock::now() + cache_ttl_};
}

Result<Identity> Authenticator::from_jwt(const std::string& token) {
  auto claims = jwt_.verify(token, unix_seconds());
  if (!claims.is_ok()) return claims.status();
  ATELIER_ASSIGN_OR_RETURN(CachedUser user, user_state(claims->user_id));
  if (!user.exists) return Status::unauthenticated("the token's user does not exist");
  if (user.disabled) return Status::unauthenticated("the token's user is disabled");
  if (claims->issued_at < user.not_before) {
    return Status::unauthenticated("the token was issued before the user's sessions were ended");
  }
  Identity id;
  id.credential = Credential::jwt;
  id.user_id = claims->user_id;
  id.id = "user:" + std::to_string(claims->user_id);
  id.tier = claims->tier;
  id.role = claims->role;
  return id;
}

Result<User> Authenticator::register_user(const std::string& email, const std::string& password,
                                          Tier tier, Role role, const WorkContext& work) {
  ATELIER_RETURN_IF_ERROR(validate_email(email));
  ATELIER_RETURN_IF_ERROR(validate_password(password));
  User u;
  u.email = email;
  std::transform(u.email.begin(), u.email.end(), u.email.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  ATELIER_ASSIGN_OR_RETURN(u.password_hash, hash_password(password, pw_));
  u.tier = tier;
  u.role = role;
  return store_.in(work).create_user(u);
}

Result<std::string> Authenticator::login(const std::string& email, const std::string& password,
                                         User* user_out, const WorkContext& work) {
  std::string norm = email;
  std::transform(norm.begin(), norm.end(), norm.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  auto user = store_.in(work).find_user_by_email(norm);
  if (!user.is_ok()) {
    if (user.status().code() != Code::not_found) return user.status();
    // Spend the same time as a real check so response timing does not tell
    // which emails are registered.
    std::string dummy;
    {
      MutexLock lock(mu_);
      if (dummy_hash_.empty()) {
        auto h = hash_password("atelier-timing-equaliser", pw_);
        if (h.is_ok()) dummy_hash_ = *h;
      }
      dummy = dummy_hash_;
    }
    (void)verify_password(dummy, password);
    return Status::unauthenticated("wrong email or password");
  }
  if (!verify_password(user->password_hash, password) || user->disabled) {
    return Status::unauthenticated("wrong email or password");
  }
  if (user_out) *user_out = *user;
  return issue_token(*user);
}

Result<std::string> Authenticator::issue_token(const User& u) {
  TokenClaims c;
  c.user_id = u.id;
  c.tier = u.tier;
  c.role = u.role;
  return jwt_.issue(c, unix_seconds());
}

Result<NewKey> Authenticator::create_key(const std::string& name, Tier tier,
                                         std::optional<std::int64_t> user_id,
                                         const WorkContext& work) {
  NewKey nk;
  nk.key.prefix = random_token(6).substr(0, 8);
  nk.secret = "atl_" + nk.key.prefix + "_" + random_token(24);
  nk.key.hash = sha256_hex(nk.secret);
  nk.key.name = name;
  nk.key.tier = tier;
  nk.key.user_id = user_id;
  ATELIER_ASSIGN_OR_RETURN(nk.key, store_.in(work).create_api_key(nk.key));
  return nk;
}

Status Authenticator::revoke_key(std::int64_t id, const WorkContext& work) {
  ATELIER_RETURN_IF_ERROR(store_.in(work).revoke_api_key(id));
  drop_key(id);
  if (publish_) publish_("key:" + std::to_string(id));
  return Status::ok();
}

void Authenticator::drop_key(std::int64_t id) {
  MutexLock lock(mu_);
  ++generation_;
  for (auto it = key_cache_.begin(); it != key_cache_.end();) {
    it = it->second.key_id == id ? key_cache_.erase(it) : std::next(it);
  }
}

void Authenticator::apply(const std::string& event) {
  const auto colon = event.find(':');
  if (colon == std::string::npos) return;
  std::int64_t id = 0;
  const char* first = event.data() + colon + 1;
  const char* last = event.data() + event.size();
  const auto [p, ec] = std::from_chars(first, last, id);
  if (ec != std::errc() || p != last) return;
  const std::string_view kind(event.data(), colon);
  if (kind == "key") drop_key(id);
  if (kind == "user") drop_user(id);
  if (kind == "account") drop_user(id, /*gone=*/false);
}

void Authenticator::clear_caches() {
  MutexLock lock(mu_);
  ++generation_;
  key_cache_.clear();
  user_cache_.clear();
}

}  // namespace atelier
