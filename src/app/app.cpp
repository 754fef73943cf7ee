// The CLI commands beside `serve` (app/serve.cpp): paths, migrate, db copy,
// config, keys and users.
#include "app/app.h"

#include <filesystem>
#include <iostream>

#include "app/db_copy.h"
#include "app/startup.h"
#include "core/clock.h"
#include "identity/account_repository.h"
#include "identity/authenticator.h"
#include "identity/crypto.h"
#include "store/database.h"
#include "store/migrations.h"
#include "store/redis/redis.h"

namespace fs = std::filesystem;

namespace atelier::app {

const char* const kVersion = ATELIER_VERSION;

namespace {

std::string exe_dir(const std::string& argv0) {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  if (ec) p = fs::absolute(argv0, ec);
  return p.parent_path().string();
}

std::string first_existing(std::initializer_list<fs::path> candidates) {
  for (const auto& c : candidates) {
    std::error_code ec;
    if (fs::is_directory(c, ec)) return fs::weakly_canonical(c, ec).string();
  }
  return {};
}

}  // namespace

void discover_paths(Config& c, const std::string& argv0) {
  const fs::path exe = exe_dir(argv0);
  const fs::path cwd = fs::current_path();
  if (c.models_dir.empty()) {
    // Derived models (written by scripts/install-deps.sh) first, then the
    // shared pretrained ones.
    for (const auto& d : {first_existing({exe / "../models", cwd / "models"}),
                          first_existing({exe / "../../shared/models", cwd / "../shared/models",
                                          cwd / "shared/models", "/usr/share/atelier/models"})}) {
      if (d.empty()) continue;
      if (!c.models_dir.empty()) c.models_dir += ":";
      c.models_dir += d;
    }
  }
  if (c.stopwords_file.empty()) {
    for (const fs::path& p : {exe / "../node_modules/stopwords-iso/stopwords-iso.json",
                              cwd / "node_modules/stopwords-iso/stopwords-iso.json",
                              fs::path("/usr/share/atelier/stopwords-iso.json")}) {
      std::error_code ec;
      if (fs::is_regular_file(p, ec)) {
        c.stopwords_file = fs::weakly_canonical(p, ec).string();
        break;
      }
    }
  }
  if (c.model_catalog.empty()) {
    for (const fs::path& p : {exe / "../config/models.json", cwd / "config/models.json",
                              fs::path("/usr/share/atelier/models.json")}) {
      std::error_code ec;
      if (fs::is_regular_file(p, ec)) {
        c.model_catalog = fs::weakly_canonical(p, ec).string();
        break;
      }
    }
  }
  if (c.docs_dir.empty()) {
    c.docs_dir =
        first_existing({exe / "../node_modules/swagger-ui-dist",
                        cwd / "node_modules/swagger-ui-dist", "/usr/share/atelier/swagger-ui"});
  }
}

int db_copy(const Config& c, const std::string& from, const std::string& to) {
  const std::string source = !from.empty() ? from
                             : c.database_url.empty()
                                 ? "sqlite:" + (fs::path(c.data_dir) / "atelier.db").string()
                                 : c.database_url;
  auto copied = copy_database(source, to, std::cout);
  if (!copied.is_ok()) {
    std::cerr << "db copy failed: " << copied.status().message() << "\n";
    return 1;
  }
  return 0;
}

int migrate(const Config& c) {
  if (auto st = init_crypto(); !st.is_ok()) return fail(st);
  auto database = open_db(c, false);
  if (!database.is_ok()) return fail(database.status());
  auto v = (*database)->migrate(schema_migrations());
  if (!v.is_ok()) return fail(v.status());
  std::cout << "schema version " << *v << "\n";
  return 0;
}

int config_show(const Config& c) {
  for (const auto& [k, v] : describe_config(c)) std::cout << k << "=" << v << "\n";
  return 0;
}

namespace {
struct CliContext {
  db::DatabasePtr database;
  std::unique_ptr<AccountRepository> store;
  std::unique_ptr<Authenticator> auth;
};
Result<CliContext> cli_context(const Config& c) {
  ATELIER_RETURN_IF_ERROR(init_crypto());
  CliContext ctx;
  ATELIER_ASSIGN_OR_RETURN(ctx.database, open_db(c, true));
  ctx.store = std::make_unique<AccountRepository>(*ctx.database);
  ATELIER_ASSIGN_OR_RETURN(auto secret, jwt_secret(c));
  ctx.auth =
      std::make_unique<Authenticator>(*ctx.store, JwtCodec(secret, c.jwt_issuer, c.jwt_ttl_s),
                                      password_params(c), c.allow_anonymous);
  return ctx;
}
}  // namespace

namespace {

// Running replicas drop the key or user from their caches now, not after a
// TTL (Authenticator::apply), when they share a Redis.
void tell_replicas(const Config& c, const std::string& event) {
  if (c.redis_url.empty()) return;
  auto r = redis::Client::create({c.redis_url});
  auto sent = r.is_ok() ? (*r)->command({"PUBLISH", kRevocationChannel, event})
                        : Result<redis::Reply>(r.status());
  if (!sent.is_ok()) {
    std::cerr << "warning: replicas not told (" << sent.status().message()
              << "); they see the change within " << c.credential_cache_s << " s\n";
  } else {
    // PUBLISH answers how many subscribers (replicas) received it.
    std::cout << "told " << sent->integer << " replicas\n";
  }
}

}  // namespace

int keys_create(const Config& c, const std::string& name, const std::string& tier_text,
                const std::string& user_email) {
  auto ctx = cli_context(c);
  if (!ctx.is_ok()) return fail(ctx.status());
  Tier tier;
  if (!parse_tier(tier_text, &tier))
    return fail(Status::invalid_argument("unknown tier '" + tier_text + "'"));
  std::optional<std::int64_t> user_id;
  if (!user_email.empty()) {
    auto u = ctx->store->find_user_by_email(user_email);
    if (!u.is_ok()) return fail(u.status());
    user_id = u->id;
  }
  auto nk = ctx->auth->create_key(name, tier, user_id);
  if (!nk.is_ok()) return fail(nk.status());
  std::cout << "created key id=" << nk->key.id << " name=" << nk->key.name
            << " tier=" << tier_name(tier) << " prefix=" << nk->key.prefix << "\n"
            << "store it now; it is not shown again:\n"
            << nk->secret << std::endl;
  return 0;
}

int keys_list(const Config& c) {
  auto ctx = cli_context(c);
  if (!ctx.is_ok()) return fail(ctx.status());
  auto keys = ctx->store->list_api_keys();
  if (!keys.is_ok()) return fail(keys.status());
  std::cout << "id\tprefix\ttier\tname\tuser_id\tstatus\n";
  for (const auto& k : *keys) {
    std::cout << k.id << "\t" << k.prefix << "\t" << tier_name(k.tier) << "\t" << k.name << "\t"
              << (k.user_id ? std::to_string(*k.user_id) : "-") << "\t"
              << (k.revoked_at ? "revoked" : "active") << "\n";
  }
  return 0;
}

int keys_revoke(const Config& c, long long id) {
  auto ctx = cli_context(c);
  if (!ctx.is_ok()) return fail(ctx.status());
  if (Status st = ctx->auth->revoke_key(id); !st.is_ok()) return fail(st);
  std::cout << "revoked key " << id << "\n";
  tell_replicas(c, "key:" + std::to_string(id));
  return 0;
}

int users_create(const Config& c, const std::string& email, const std::string& password,
                 const std::string& tier_text, bool admin) {
  auto ctx = cli_context(c);
  if (!ctx.is_ok()) return fail(ctx.status());
  Tier tier;
  if (!parse_tier(tier_text, &tier))
    return fail(Status::invalid_argument("unknown tier '" + tier_text + "'"));
  if (admin) tier = Tier::admin;
  auto u = ctx->auth->register_user(email, password, tier,
                                    admin || tier == Tier::admin ? Role::admin : Role::user);
  if (!u.is_ok()) return fail(u.status());
  std::cout << "created user id=" << u->id << " email=" << u->email
            << " tier=" << tier_name(u->tier) << "\n";
  return 0;
}

int users_list(const Config& c) {
  auto ctx = cli_context(c);
  if (!ctx.is_ok()) return fail(ctx.status());
  auto users = ctx->store->list_users();
  if (!users.is_ok()) return fail(users.status());
  std::cout << "id\temail\ttier\trole\tstatus\n";
  for (const auto& u : *users) {
    std::cout << u.id << "\t" << u.email << "\t" << tier_name(u.tier) << "\t"
              << (u.role == Role::admin ? "admin" : "user") << "\t"
              << (u.disabled ? "disabled" : "active") << "\n";
  }
  return 0;
}

int users_disable(const Config& c, const std::string& email, bool disabled) {
  auto ctx = cli_context(c);
  if (!ctx.is_ok()) return fail(ctx.status());
  auto u = ctx->store->find_user_by_email(email);
  if (!u.is_ok()) return fail(u.status());
  // Disabling also ends every token issued so far; enabling does not bring them back.
  const std::int64_t cutoff = disabled ? unix_seconds() : 0;
  if (Status st = ctx->store->set_user_disabled(u->id, disabled, cutoff); !st.is_ok())
    return fail(st);
  std::cout << (disabled ? "disabled" : "enabled") << " user id=" << u->id << " email=" << email
            << "\n";
  tell_replicas(c, "account:" + std::to_string(u->id));
  return 0;
}

int users_set_tier(const Config& c, const std::string& email, const std::string& tier_text) {
  Tier tier;
  if (!parse_tier(tier_text, &tier))
    return fail(Status::invalid_argument("unknown tier '" + tier_text + "'"));
  auto ctx = cli_context(c);
  if (!ctx.is_ok()) return fail(ctx.status());
  auto u = ctx->store->find_user_by_email(email);
  if (!u.is_ok()) return fail(u.status());
  if (Status st = ctx->store->set_user_tier(u->id, tier); !st.is_ok()) return fail(st);
  // Tokens carry the tier: the ones issued so far end, so the next sign-in has the new one.
  if (Status st = ctx->store->set_user_disabled(u->id, u->disabled, unix_seconds()); !st.is_ok())
    return fail(st);
  std::cout << "user id=" << u->id << " email=" << email << " tier=" << tier_name(tier) << "\n";
  tell_replicas(c, "account:" + std::to_string(u->id));
  return 0;
}

}  // namespace atelier::app
