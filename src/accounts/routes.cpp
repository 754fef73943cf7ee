// Identity and limits: register, login, me, own API keys, rate-limit status,
// and the admin's key management.
#include <charconv>
#include <limits>
#include <optional>

#include "accounts/routes.h"
#include "http/paging.h"
#include "http/problem.h"

namespace atelier::api {

using http::Access;
using http::Exec;
using http::Method;
using http::RequestContext;
using http::Response;
using http::RouteSpec;

namespace {

const nlohmann::json kCredentialsSchema = {
    {"type", "object"},
    {"required", {"email", "password"}},
    {"properties",
     {{"email", {{"type", "string"}, {"format", "email"}, {"maxLength", 254}}},
      {"password", {{"type", "string"}, {"minLength", 8}, {"maxLength", 256}}}}}};

const nlohmann::json kTokenSchema = {{"type", "object"},
                                     {"properties",
                                      {{"access_token", {{"type", "string"}}},
                                       {"token_type", {{"type", "string"}}},
                                       {"expires_in", {{"type", "integer"}}},
                                       {"user", {{"type", "object"}}}}}};

const nlohmann::json kKeySchema = {
    {"type", "object"},
    {"properties",
     {{"id", {{"type", "integer"}}},
      {"name", {{"type", "string"}}},
      {"prefix", {{"type", "string"}}},
      {"tier", {{"type", "string"}}},
      {"key",
       {{"type", "string"}, {"description", "the secret; shown only in the create response"}}}}}};

Result<std::string> string_field(const nlohmann::json& j, const char* name, bool required = true) {
  if (!j.is_object()) return Status::invalid_argument("request body must be a JSON object");
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) {
    if (!required) return std::string();
    return Status::invalid_argument(std::string("field '") + name + "' is required");
  }
  if (!it->is_string())
    return Status::invalid_argument(std::string("field '") + name + "' must be a string");
  return it->get<std::string>();
}

nlohmann::json user_json(const User& u) {
  return {{"id", u.id},
          {"email", u.email},
          {"tier", tier_name(u.tier)},
          {"role", u.role == Role::admin ? "admin" : "user"}};
}

nlohmann::json key_json(const ApiKey& k) {
  nlohmann::json j = {{"id", k.id},
                      {"name", k.name},
                      {"prefix", k.prefix},
                      {"tier", tier_name(k.tier)},
                      {"created_at", k.created_at},
                      {"revoked", k.revoked_at.has_value()}};
  j["user_id"] = k.user_id ? nlohmann::json(*k.user_id) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json token_json(const ApiDeps& d, const std::string& token, const User& u) {
  return {{"access_token", token},
          {"token_type", "Bearer"},
          {"expires_in", d.auth.jwt().ttl_seconds()},
          {"user", user_json(u)}};
}

Result<std::string> key_name(const nlohmann::json& body) {
  ATELIER_ASSIGN_OR_RETURN(std::string name, string_field(body, "name", false));
  if (name.empty()) name = "default";
  if (name.size() > 100) return Status::invalid_argument("name must have at most 100 characters");
  return name;
}

}  // namespace

namespace {

// The handlers of add_account_routes(), named after their routes' operation ids,
// over what they need.
struct AccountHandlers {
  ApiDeps& d;
  const UserDataRegistry& data;
  AccountRepository& store;

  Result<Response> handle_export_me(const RequestContext& ctx) const;
  Result<Response> handle_delete_me(const RequestContext& ctx) const;
  Result<Response> handle_register(const RequestContext& ctx) const;
  Result<Response> handle_login(const RequestContext& ctx) const;
  Result<Response> handle_me(const RequestContext& ctx) const;
  Result<Response> handle_create_own_key(const RequestContext& ctx) const;
  Result<Response> handle_rate_limit_status(const RequestContext& ctx) const;
  Result<Response> handle_admin_list_keys(const RequestContext& ctx) const;
  Result<Response> handle_admin_create_key(const RequestContext& ctx) const;
  Result<Response> handle_admin_revoke_key(const RequestContext& ctx) const;
  Result<Response> handle_list_own_keys(const RequestContext& ctx) const;
  Result<Response> handle_get_own_key(const RequestContext& ctx) const;
  Result<Response> handle_revoke_own_key(const RequestContext& ctx) const;
  Result<Response> handle_admin_get_key(const RequestContext& ctx) const;
  // A page of keys by id (only `user_id`'s when set) as the list `list`.
  Result<Response> keys_page(const RequestContext& ctx, std::optional<std::int64_t> user_id,
                             std::string_view list) const;
  // The key {id} names, when it is `user_id`'s (any key without one); not_found otherwise.
  Result<ApiKey> key_of(const RequestContext& ctx, std::optional<std::int64_t> user_id) const;
};

// The signed-in user's id, or why a caller without one cannot manage keys.
Result<std::int64_t> key_owner(const RequestContext& ctx) {
  if (!ctx.identity.user_id)
    return Status::permission_denied("only a user account has keys of its own");
  return *ctx.identity.user_id;
}

Result<std::int64_t> key_id_param(const RequestContext& ctx) {
  return http::parse_integer(ctx.req.path_params.at("id"), "key id", 1,
                             std::numeric_limits<std::int64_t>::max());
}

Result<Response> AccountHandlers::handle_export_me(const RequestContext& ctx) const {
  const Identity& id = ctx.identity;
  nlohmann::ordered_json out;
  out["identity"] = id.id;
  if (id.user_id) {
    ATELIER_ASSIGN_OR_RETURN(User u, store.in(ctx.work).find_user(*id.user_id));
    nlohmann::ordered_json acc;
    acc["id"] = u.id;
    acc["email"] = u.email;
    acc["tier"] = tier_name(u.tier);
    acc["role"] = u.role == Role::admin ? "admin" : "user";
    acc["created_at"] = u.created_at;
    out["account"] = acc;
    auto& keys = out["api_keys"] = nlohmann::ordered_json::array();
    ATELIER_ASSIGN_OR_RETURN(auto all, store.in(ctx.work).list_api_keys());
    for (const auto& k : all) {
      if (k.user_id != id.user_id) continue;
      keys.push_back({{"id", k.id},
                      {"name", k.name},
                      {"prefix", k.prefix},
                      {"tier", tier_name(k.tier)},
                      {"created_at", k.created_at},
                      {"revoked_at", k.revoked_at ? nlohmann::ordered_json(*k.revoked_at)
                                                  : nlohmann::ordered_json(nullptr)}});
    }
  } else {
    out["account"] = nullptr;
  }
  ATELIER_ASSIGN_OR_RETURN(Usage today, d.ledger.today(id.id));
  out["usage_today"] = {{"units", today.units}, {"requests", today.requests}};
  for (const auto& part : data.parts()) {
    ATELIER_ASSIGN_OR_RETURN(auto j, part.export_all(id.id));
    // Parts' top-level keys go straight into the export ("rooms", "collections", ...).
    for (auto& [k, v] : j.items()) out[k] = v;
  }
  Response resp = Response::json_exact(200, out);  // the caller's data, as stored
  resp.set_header("Content-Disposition", "attachment; filename=\"atelier-export.json\"");
  return resp;
}

Result<Response> AccountHandlers::handle_delete_me(const RequestContext& ctx) const {
  const Identity& id = ctx.identity;
  // The mark first: from here on no write of this owner commits, so
  // requests still running for it (an upload being tagged) cannot add
  // rows behind the erase (store/owners.h). Then the data, the account
  // last: a failure part-way leaves an account that can retry the
  // deletion, never data without an owner.
  AccountRepository accounts = store.in(ctx.work);
  ATELIER_RETURN_IF_ERROR(accounts.mark_erased(id.id));
  for (const auto& part : data.parts()) {
    Status st = part.erase_all(id.id);
    if (!st.is_ok()) return Status(st.code(), "deleting " + part.name + " data: " + st.message());
  }
  const std::vector<std::string> identities = {id.id, "gen:" + id.id};
  if (id.user_id) {
    ATELIER_RETURN_IF_ERROR(accounts.delete_user(*id.user_id, identities));
    d.auth.forget_user(*id.user_id);
  } else if (id.key_id) {
    // A key without a user is its own account: deleting it revokes it.
    ATELIER_RETURN_IF_ERROR(accounts.delete_usage(identities));
    ATELIER_RETURN_IF_ERROR(d.auth.revoke_key(*id.key_id, ctx.work));
  }
  for (const auto& who : identities) d.ledger.forget(who);
  return Response::no_content();
}

Result<Response> AccountHandlers::handle_register(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto body, http::parse_json_body(ctx.req));
  ATELIER_ASSIGN_OR_RETURN(auto email, string_field(body, "email"));
  ATELIER_ASSIGN_OR_RETURN(auto password, string_field(body, "password"));
  ATELIER_ASSIGN_OR_RETURN(
      User u, d.auth.register_user(email, password, Tier::authenticated, Role::user, ctx.work));
  ATELIER_ASSIGN_OR_RETURN(auto token, d.auth.issue_token(u));
  Response r = Response::json(201, token_json(d, token, u));
  r.set_header("Location", "/v1/me");  // the account, as its token reads it
  return r;
}

Result<Response> AccountHandlers::handle_login(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto body, http::parse_json_body(ctx.req));
  ATELIER_ASSIGN_OR_RETURN(auto email, string_field(body, "email"));
  ATELIER_ASSIGN_OR_RETURN(auto password, string_field(body, "password"));
  if (password.size() > 256)
    return Status::invalid_argument("password must have at most 256 characters");
  User u;
  ATELIER_ASSIGN_OR_RETURN(auto token, d.auth.login(email, password, &u, ctx.work));
  return Response::json(200, token_json(d, token, u));
}

Result<Response> AccountHandlers::handle_me(const RequestContext& ctx) const {
  const Identity& id = ctx.identity;
  ATELIER_ASSIGN_OR_RETURN(Usage usage, d.ledger.today(id.id));
  const auto limit = d.config.daily_limit[static_cast<int>(id.tier)];
  nlohmann::ordered_json j;
  j["identity"] = id.id;
  j["tier"] = tier_name(id.tier);
  j["role"] = id.role == Role::admin ? "admin" : "user";
  j["credential"] = id.credential == Credential::jwt ? "jwt" : "api_key";
  if (id.user_id) {
    j["user_id"] = *id.user_id;
  } else {
    j["user_id"] = nullptr;
  }
  auto& u = j["usage_today"];
  u["units"] = usage.units;
  u["requests"] = usage.requests;
  u["limit"] = limit;
  return Response::json_ordered(200, j);
}

Result<Response> AccountHandlers::handle_create_own_key(const RequestContext& ctx) const {
  if (!ctx.identity.user_id) {
    return Status::permission_denied("only a user account can create its own keys");
  }
  ATELIER_ASSIGN_OR_RETURN(auto body, http::parse_json_body(ctx.req));
  ATELIER_ASSIGN_OR_RETURN(auto name, key_name(body));
  ATELIER_ASSIGN_OR_RETURN(
      NewKey nk, d.auth.create_key(name, ctx.identity.tier, ctx.identity.user_id, ctx.work));
  auto j = key_json(nk.key);
  j["key"] = nk.secret;
  Response r = Response::json(201, j);
  r.set_header("Location", "/v1/keys/" + std::to_string(nk.key.id));
  return r;
}

Result<Response> AccountHandlers::keys_page(const RequestContext& ctx,
                                            std::optional<std::int64_t> user_id,
                                            std::string_view list) const {
  ATELIER_ASSIGN_OR_RETURN(auto start, http::page_start(ctx, *d.cursors, list));
  ATELIER_ASSIGN_OR_RETURN(const int limit, http::page_limit(ctx));
  ATELIER_ASSIGN_OR_RETURN(auto keys,
                           d.auth.list_keys(user_id, start ? start->ts : 0, limit + 1, ctx.work));
  const auto next = trim_page(keys, limit, [](const ApiKey& k) { return PagePosition{k.id, ""}; });
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& k : keys) arr.push_back(nlohmann::ordered_json(key_json(k)));
  return http::page_answer(ctx, *d.cursors, list, next, {{"keys", arr}});
}

Result<ApiKey> AccountHandlers::key_of(const RequestContext& ctx,
                                       std::optional<std::int64_t> user_id) const {
  ATELIER_ASSIGN_OR_RETURN(const std::int64_t id, key_id_param(ctx));
  ATELIER_ASSIGN_OR_RETURN(auto keys, d.auth.list_keys(user_id, id - 1, 1, ctx.work));
  if (keys.empty() || keys.front().id != id)
    return Status::not_found("no key " + std::to_string(id));
  return keys.front();
}

Result<Response> AccountHandlers::handle_list_own_keys(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(const std::int64_t user, key_owner(ctx));
  return keys_page(ctx, user, "keys");
}

Result<Response> AccountHandlers::handle_get_own_key(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(const std::int64_t user, key_owner(ctx));
  ATELIER_ASSIGN_OR_RETURN(ApiKey k, key_of(ctx, user));
  return Response::json(200, key_json(k));
}

Result<Response> AccountHandlers::handle_revoke_own_key(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(const std::int64_t user, key_owner(ctx));
  ATELIER_ASSIGN_OR_RETURN(ApiKey k, key_of(ctx, user));
  ATELIER_RETURN_IF_ERROR(d.auth.revoke_key(k.id, ctx.work));
  return Response::no_content();
}

Result<Response> AccountHandlers::handle_admin_get_key(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(ApiKey k, key_of(ctx, std::nullopt));
  return Response::json(200, key_json(k));
}

Result<Response> AccountHandlers::handle_rate_limit_status(const RequestContext& ctx) const {
  const Identity& id = ctx.identity;
  nlohmann::json limits = nlohmann::json::array();
  bool blocked = false;
  std::int64_t blocked_for = 0;
  for (const auto& l : d.limiter.state(id.id)) {
    if (l.name == Limit::blocked) {
      blocked = true;
      blocked_for = l.reset_s;
      continue;
    }
    limits.push_back({{"name", limit_name(l.name)},
                      {"limit", l.limit},
                      {"remaining", std::max<std::int64_t>(0, l.remaining)},
                      {"reset_s", l.reset_s}});
  }
  ATELIER_ASSIGN_OR_RETURN(Usage usage, d.ledger.today(id.id));
  const auto limit = d.config.daily_limit[static_cast<int>(id.tier)];
  const auto now = system_clock_seconds()();
  nlohmann::json quota = {{"limit", limit},
                          {"used", usage.units},
                          {"requests", usage.requests},
                          {"reset_s", seconds_to_utc_midnight(now)},
                          {"day", utc_day(now)}};
  quota["remaining"] = limit > 0 ? nlohmann::json(std::max<std::int64_t>(0, limit - usage.units))
                                 : nlohmann::json(nullptr);
  return Response::json(200, {{"identity", id.id},
                              {"tier", tier_name(id.tier)},
                              {"anonymous", id.anonymous()},
                              {"blocked", blocked},
                              {"blocked_for_s", blocked_for},
                              {"limits", limits},
                              {"daily_quota", quota}});
}

Result<Response> AccountHandlers::handle_admin_list_keys(const RequestContext& ctx) const {
  return keys_page(ctx, std::nullopt, "admin_keys");
}

Result<Response> AccountHandlers::handle_admin_create_key(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto body, http::parse_json_body(ctx.req));
  ATELIER_ASSIGN_OR_RETURN(auto name, key_name(body));
  ATELIER_ASSIGN_OR_RETURN(auto tier_text, string_field(body, "tier"));
  Tier tier;
  if (!parse_tier(tier_text, &tier)) {
    return Status::invalid_argument("tier must be one of free, authenticated, premium, admin");
  }
  ATELIER_ASSIGN_OR_RETURN(NewKey nk, d.auth.create_key(name, tier, std::nullopt, ctx.work));
  auto j = key_json(nk.key);
  j["key"] = nk.secret;
  Response r = Response::json(201, j);
  r.set_header("Location", "/v1/admin/keys/" + std::to_string(nk.key.id));
  return r;
}

Result<Response> AccountHandlers::handle_admin_revoke_key(const RequestContext& ctx) const {
  const auto& text = ctx.req.path_params.at("id");
  std::int64_t id = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || p != text.data() + text.size()) {
    return Status::invalid_argument("key id must be an integer");
  }
  ATELIER_RETURN_IF_ERROR(d.auth.revoke_key(id, ctx.work));
  return Response::no_content();
}

}  // namespace

void add_account_routes(http::Router& router, ApiDeps& d, const UserDataRegistry& data,
                        AccountRepository& store) {
  const auto h = std::make_shared<const AccountHandlers>(AccountHandlers{d, data, store});
  router.add({
      .method = Method::get,
      .path = "/v1/me/export",
      .operation_id = "export_me",
      .summary = "Everything atelier holds for the caller: account, keys, usage and every "
                 "capability's data",
      .tag = "account",
      .access = Access::user,
      .exec = Exec::worker_pool,
      // Each capability's rows as its own routes answer them. A key without a
      // user has no account (null) and no keys of its own (absent).
      .response_example = nlohmann::json::parse(R"({"identity": "user:7",
        "account": {"id": 7, "email": "ana@example.com", "tier": "authenticated",
          "role": "user", "created_at": 1796603200},
        "api_keys": [{"id": 3, "name": "laptop", "prefix": "atl_9f3a1c", "tier": "authenticated",
          "created_at": 1796603210, "revoked_at": null}],
        "usage_today": {"units": 6, "requests": 5},
        "collections": [{"name": "fabrics", "ref": "user:7:fabrics", "owner": "user:7",
          "model": "glove-sif-100d", "dimensions": 100, "documents": 1, "created_at": 1796603264,
          "visibility": "private", "documents_list": [{"id": "tweed",
          "text": "Tweed is a rough woollen cloth.", "metadata": {"fibre": "wool"}}]}],
        "rooms": [{"id": "rm_d5afc9f2721f59e65aff29f2", "name": "mine", "room_type": "bedroom",
          "width": 350, "height": 247, "content_type": "image/jpeg", "created_at": 1796603265,
          "image_url": "/v1/rooms/rm_d5afc9f2721f59e65aff29f2/image"}],
        "designs": [{"id": "ds_a972b9f6f5fb7a70e2451fe7", "status": "succeeded",
          "room_id": "rm_d5afc9f2721f59e65aff29f2", "style": "scandinavian",
          "room_type": "bedroom", "engine": "local", "strength": 0.75, "seed": 1,
          "prompt": "a photo of a scandinavian interior, light wood, cozy textiles",
          "negative_prompt": "blurry, lowres", "preset_version": "2026.11-1", "cost_usd": 0,
          "error": null, "attempts": 1, "timings": {"created_at": 1796603265,
          "started_at": 1796603265, "finished_at": 1796603268, "queue_ms": 0, "run_ms": 2874},
          "image_url": "/v1/designs/ds_a972b9f6f5fb7a70e2451fe7/image",
          "control_url": "/v1/designs/ds_a972b9f6f5fb7a70e2451fe7/control"}],
        "wardrobe_items": [{"id": "wi_0e454c5ec4c0d858081992da", "name": "", "brand": "",
          "notes": "", "category": "bottom", "type": "jeans", "color_family": "white",
          "colors": [{"hex": "#efece6", "name": "linen", "family": "white", "share": 0.99}],
          "pattern": "solid", "formality": "casual", "warmth": "light", "season": ["summer"],
          "tags": {"auto": {"category": {"value": "bottom", "confidence": 0.55,
            "scores": {"top": 0.185, "bottom": 0.55}}, "type": null, "color_family": "white",
            "pattern": {"value": "solid", "confidence": 0.945}, "formality": null,
            "warmth": null, "season": null, "plain_background": false}, "user": {}},
          "image": {"url": "/v1/wardrobe/items/wi_0e454c5ec4c0d858081992da/image",
            "content_type": "image/jpeg", "width": 239, "height": 334},
          "embedding_model": "mobilenet-v2", "tag_embedding_model": "glove-sif-100d",
          "created_at": 1796603263, "updated_at": 1796603263}],
        "feedback": [{"id": "fb_cd687fd671a8ce492ba1e311", "event": "like",
          "item_ids": ["wi_0e454c5ec4c0d858081992da"], "context": {}, "created_at": 1796603263}],
        "conversations": [{"id": "cv_0aa5dabfd0d8defdf94b7a9a", "title": "tweed",
          "created_at": 1796603264, "updated_at": 1796603265, "messages": [{"seq": 1,
          "role": "user", "content": "What is tweed?", "sources": [], "created_at": 1796603265},
          {"seq": 2, "role": "assistant",
          "content": "tweed: thick woolen fabric used for clothing; originated in Scotland [1]",
          "sources": [{"collection": "style-glossary", "id": "wn30-n-04502502", "n": 1}],
          "created_at": 1796603265}]}]})"),
      .response_maps = {"metadata", "scores", "user", "context"},
      .response_nullable = {"account"},
      .response_optional = {"api_keys"},
      .handler = http::bind_handler(h, &AccountHandlers::handle_export_me),
  });
  router.add({
      .method = Method::del,
      .path = "/v1/me",
      .operation_id = "delete_me",
      .summary = "Delete the caller for good: every capability's data, API keys, usage and the "
                 "account; the caller's tokens and keys stop working at once",
      .tag = "account",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_content_type = "",
      .success_status = 204,
      .handler = http::bind_handler(h, &AccountHandlers::handle_delete_me),
  });
  router.add({
      .method = Method::post,
      .path = "/v1/auth/register",
      .operation_id = "register",
      .summary = "Create an account (tier authenticated) and get a session token",
      .tag = "auth",
      .access = Access::open,
      // limited per client IP
      .exec = Exec::worker_pool,
      .request_schema = kCredentialsSchema,
      .response_schema = kTokenSchema,
      // argon2id is deliberately slow
      .request_example = nlohmann::json::parse(
          R"({"email": "ana@example.com", "password": "correct horse battery"})"),
      .success_status = 201,
      .errors = {409},
      .handler = http::bind_handler(h, &AccountHandlers::handle_register),
  });
  router.add({
      .method = Method::post,
      .path = "/v1/auth/login",
      .operation_id = "login",
      .summary = "Exchange email and password for a session token (JWT, HS256)",
      .tag = "auth",
      .access = Access::open,
      .exec = Exec::worker_pool,
      .request_schema = kCredentialsSchema,
      .response_schema = kTokenSchema,
      .request_example = nlohmann::json::parse(
          R"({"email": "ana@example.com", "password": "correct horse battery"})"),
      .handler = http::bind_handler(h, &AccountHandlers::handle_login),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/me",
      .operation_id = "me",
      .summary = "The caller's identity, tier and usage today",
      .tag = "auth",
      .access = Access::user,
      .cost = 1,
      .response_example = nlohmann::json::parse(R"({"identity": "key:3", "tier": "premium",
        "role": "user", "credential": "api_key", "user_id": null,
        "usage_today": {"units": 1, "requests": 1, "limit": 5000}})"),
      .handler = http::bind_handler(h, &AccountHandlers::handle_me),
  });
  router.add({
      .method = Method::post,
      .path = "/v1/keys",
      .operation_id = "create_own_key",
      .summary = "Create an API key for the signed-in user (same tier); the secret is shown once",
      .tag = "auth",
      .access = Access::user,
      .request_schema = {{"type", "object"},
                         {"properties", {{"name", {{"type", "string"}, {"maxLength", 100}}}}}},
      .response_schema = kKeySchema,
      .request_example = nlohmann::json::parse(R"({"name": "laptop"})"),
      .success_status = 201,
      .errors = {403},
      .handler = http::bind_handler(h, &AccountHandlers::handle_create_own_key),
  });
  const nlohmann::json key_list = {{"type", "object"},
                                   {"properties",
                                    {{"keys", {{"type", "array"}, {"items", kKeySchema}}},
                                     {"next_cursor", {{"type", {"string", "null"}}}}}}};
  router.add({
      .method = Method::get,
      .path = "/v1/keys",
      .operation_id = "list_own_keys",
      .summary = "The signed-in user's API keys, oldest first (never their secrets; cursor "
                 "pagination)",
      .tag = "auth",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_schema = key_list,
      .errors = {403},
      .query = {http::limit_param(), http::cursor_param()},
      .handler = http::bind_handler(h, &AccountHandlers::handle_list_own_keys),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/keys/{id}",
      .operation_id = "get_own_key",
      .summary = "One of the signed-in user's API keys (never its secret)",
      .tag = "auth",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_schema = kKeySchema,
      .errors = {403, 404},
      .handler = http::bind_handler(h, &AccountHandlers::handle_get_own_key),
  });
  router.add({
      .method = Method::del,
      .path = "/v1/keys/{id}",
      .operation_id = "revoke_own_key",
      .summary = "Revoke one of the signed-in user's API keys; it stops working at once",
      .tag = "auth",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_content_type = "",
      .success_status = 204,
      .errors = {403, 404},
      .handler = http::bind_handler(h, &AccountHandlers::handle_revoke_own_key),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/rate-limit/status",
      .operation_id = "rate_limit_status",
      .summary = "The caller's rate-limit windows, block and daily quota (does not count)",
      .tag = "auth",
      .access = Access::caller,
      .rate_limited = false,
      .response_example = nlohmann::json::parse(R"({"anonymous": false, "blocked": false,
        "blocked_for_s": 0, "daily_quota": {"day": "2026-12-06", "limit": 10000, "remaining": null,
        "requests": 1, "reset_s": 19142, "used": 1}, "identity": "key:1",
        "limits": [{"limit": 120, "name": "identity_minute", "remaining": 119, "reset_s": 2}],
        "tier": "premium"})"),
      .handler = http::bind_handler(h, &AccountHandlers::handle_rate_limit_status),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/admin/keys",
      .operation_id = "admin_list_keys",
      .summary = "All API keys (never their secrets)",
      .tag = "admin",
      .access = Access::admin,
      .exec = Exec::worker_pool,
      .response_schema = key_list,
      .query = {http::limit_param(), http::cursor_param()},
      .handler = http::bind_handler(h, &AccountHandlers::handle_admin_list_keys),
  });
  router.add({
      .method = Method::post,
      .path = "/v1/admin/keys",
      .operation_id = "admin_create_key",
      .summary = "Create an API key with a tier; the secret is shown once",
      .tag = "admin",
      .access = Access::admin,
      .request_schema = {{"type", "object"},
                         {"required", {"tier"}},
                         {"properties",
                          {{"name", {{"type", "string"}}},
                           {"tier",
                            {{"type", "string"},
                             {"enum", {"free", "authenticated", "premium", "admin"}}}}}}},
      .response_schema = kKeySchema,
      .request_example = nlohmann::json::parse(R"({"name": "shop-frontend", "tier": "premium"})"),
      .success_status = 201,
      .handler = http::bind_handler(h, &AccountHandlers::handle_admin_create_key),
  });
  router.add({
      .method = Method::del,
      .path = "/v1/admin/keys/{id}",
      .operation_id = "admin_revoke_key",
      .summary = "Revoke an API key; it stops working at once on this replica",
      .tag = "admin",
      .access = Access::admin,
      .response_content_type = "",
      .success_status = 204,
      .errors = {400, 404},
      .handler = http::bind_handler(h, &AccountHandlers::handle_admin_revoke_key),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/admin/keys/{id}",
      .operation_id = "admin_get_key",
      .summary = "One API key (never its secret)",
      .tag = "admin",
      .access = Access::admin,
      .exec = Exec::worker_pool,
      .response_schema = kKeySchema,
      .errors = {400, 404},
      .handler = http::bind_handler(h, &AccountHandlers::handle_admin_get_key),
  });
}

}  // namespace atelier::api
