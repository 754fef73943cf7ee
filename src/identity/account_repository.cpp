#include "identity/account_repository.h"

#include "store/owners.h"

#include <chrono>

#include "core/clock.h"

namespace atelier {
namespace {

Tier tier_from(const std::string& s) {
  Tier t = Tier::free;
  parse_tier(s, &t);
  return t;
}

#define ATELIER_USER_SELECT                                                                     \
  "SELECT id, email, password_hash, tier, role, created_at, disabled, tokens_valid_after FROM " \
  "users"
#define ATELIER_KEY_SELECT \
  "SELECT id, user_id, name, prefix, hash, tier, created_at, revoked_at FROM api_keys"

User read_user(const db::Row& r) {
  User u;
  u.id = r.integer(0);
  u.email = r.text(1);
  u.password_hash = r.text(2);
  u.tier = tier_from(r.text(3));
  u.role = r.text(4) == "admin" ? Role::admin : Role::user;
  u.created_at = r.integer(5);
  u.disabled = r.integer(6) != 0;
  u.tokens_valid_after = r.integer(7);
  return u;
}

ApiKey read_key(const db::Row& r) {
  ApiKey k;
  k.id = r.integer(0);
  k.user_id = r.opt_integer(1);
  k.name = r.text(2);
  k.prefix = r.text(3);
  k.hash = r.text(4);
  k.tier = tier_from(r.text(5));
  k.created_at = r.integer(6);
  k.revoked_at = r.opt_integer(7);
  return k;
}

}  // namespace

Result<User> AccountRepository::create_user(const User& u) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  User out = u;
  out.created_at = unix_seconds();
  auto id = db::first<std::int64_t>(
      *c,
      "INSERT INTO users(email, password_hash, tier, role, created_at, disabled) VALUES "
      "(?,?,?,?,?,0) RETURNING id",
      {u.email, u.password_hash, std::string(tier_name(u.tier)),
       u.role == Role::admin ? "admin" : "user", out.created_at},
      [](const db::Row& r) { return r.integer(0); });
  if (!id.is_ok()) {
    if (id.status().code() == Code::already_exists)
      return Status::already_exists("email already registered");
    return id.status();
  }
  out.id = id->value_or(0);
  return out;
}

Result<User> AccountRepository::find_user(std::int64_t id) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(auto u,
                           db::first<User>(*c, ATELIER_USER_SELECT " WHERE id=?", {id}, read_user));
  if (!u) return Status::not_found("no such user");
  return *u;
}

Result<User> AccountRepository::find_user_by_email(const std::string& email) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto u, db::first<User>(*c, ATELIER_USER_SELECT " WHERE email=?", {email}, read_user));
  if (!u) return Status::not_found("no such user");
  return *u;
}

Status AccountRepository::set_user_disabled(std::int64_t id, bool disabled,
                                            std::int64_t tokens_valid_after) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  // tokens_valid_after only moves forward.
  ATELIER_ASSIGN_OR_RETURN(
      auto changed,
      c->execute("UPDATE users SET disabled=?1, tokens_valid_after=CASE WHEN tokens_valid_after > "
                 "?2 THEN tokens_valid_after ELSE ?2 END WHERE id=?3",
                 {disabled ? 1 : 0, tokens_valid_after, id}));
  if (changed == 0) return Status::not_found("no such user");
  return Status::ok();
}

Status AccountRepository::set_user_tier(std::int64_t id, Tier tier) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  // An admin tier is an admin role; leaving it leaves the role.
  ATELIER_ASSIGN_OR_RETURN(auto changed, c->execute("UPDATE users SET tier=?, role=? WHERE id=?",
                                                    {std::string(tier_name(tier)),
                                                     tier == Tier::admin ? "admin" : "user", id}));
  if (changed == 0) return Status::not_found("no such user");
  return Status::ok();
}

Result<std::vector<User>> AccountRepository::list_users() {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  return db::all<User>(*c, ATELIER_USER_SELECT " ORDER BY id", {}, read_user);
}

Status AccountRepository::delete_user(std::int64_t id, const std::vector<std::string>& identities) {
  return db_.transaction(work_, [&](db::Connection& c) -> Status {
    ATELIER_RETURN_IF_ERROR(c.execute("DELETE FROM api_keys WHERE user_id=?", {id}).status());
    for (const auto& who : identities) {
      ATELIER_RETURN_IF_ERROR(
          c.execute("DELETE FROM usage_daily WHERE identity=?", {who}).status());
    }
    return c.execute("DELETE FROM users WHERE id=?", {id}).status();
  });
}

Status AccountRepository::delete_usage(const std::vector<std::string>& identities) {
  return db_.transaction(work_, [&](db::Connection& c) -> Status {
    for (const auto& who : identities) {
      ATELIER_RETURN_IF_ERROR(
          c.execute("DELETE FROM usage_daily WHERE identity=?", {who}).status());
    }
    return Status::ok();
  });
}

Status AccountRepository::mark_erased(const std::string& owner) {
  return db::mark_owner_erased(db_, owner, work_);
}

Result<ApiKey> AccountRepository::create_api_key(const ApiKey& k) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ApiKey out = k;
  out.created_at = unix_seconds();
  ATELIER_ASSIGN_OR_RETURN(
      auto id,
      db::first<std::int64_t>(
          *c,
          "INSERT INTO api_keys(user_id, name, prefix, hash, tier, created_at) VALUES "
          "(?,?,?,?,?,?) RETURNING id",
          {k.user_id, k.name, k.prefix, k.hash, std::string(tier_name(k.tier)), out.created_at},
          [](const db::Row& r) { return r.integer(0); }));
  out.id = id.value_or(0);
  return out;
}

Result<ApiKey> AccountRepository::find_api_key_by_hash(const std::string& hash) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto k, db::first<ApiKey>(*c, ATELIER_KEY_SELECT " WHERE hash=?", {hash}, read_key));
  if (!k) return Status::not_found("no such API key");
  return *k;
}

Result<std::vector<ApiKey>> AccountRepository::list_api_keys() {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  return db::all<ApiKey>(*c, ATELIER_KEY_SELECT " ORDER BY id", {}, read_key);
}

Result<std::vector<ApiKey>> AccountRepository::list_api_keys(std::optional<std::int64_t> user_id,
                                                             std::int64_t after_id, int limit) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  return db::all<ApiKey>(
      *c, ATELIER_KEY_SELECT " WHERE (?1 IS NULL OR user_id = ?1) AND id > ?2 ORDER BY id LIMIT ?3",
      {user_id, after_id, limit}, read_key);
}

Status AccountRepository::revoke_api_key(std::int64_t id) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto changed, c->execute("UPDATE api_keys SET revoked_at=? WHERE id=? AND revoked_at IS NULL",
                               {unix_seconds(), id}));
  if (changed == 0) return Status::not_found("no active API key with id " + std::to_string(id));
  return Status::ok();
}

}  // namespace atelier
