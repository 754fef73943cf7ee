#include "app/app.h"

#include <malloc.h>

#include <cblas.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "accounts/module.h"
#include "app/db_copy.h"
#include "app/ops_routes.h"
#include "cache/shared_cache.h"
#include "chat/module.h"
#include "core/clock.h"
#include "core/health.h"
#include "core/mutex.h"
#include "core/worker_pool.h"
#include "design/module.h"
#include "embed/module.h"
#include "http/openapi.h"
#include "http/pipeline.h"
#include "http/route_deps.h"
#include "http/server.h"
#include "identity/account_repository.h"
#include "identity/authenticator.h"
#include "identity/crypto.h"
#include "models/paths.h"
#include "net/http_client.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "platform/module.h"
#include "quota/limits.h"
#include "quota/redis_limits.h"
#include "quota/usage_repository.h"
#include "search/module.h"
#include "store/database.h"
#include "store/migrations.h"
#include "store/redis/redis.h"
#include "text/module.h"
#include "vision/module.h"
#include "wardrobe/module.h"

namespace fs = std::filesystem;

namespace atelier::app {

// Where replicas publish revoked keys and forgotten users (Authenticator::apply).
constexpr const char* kRevocationChannel = "atelier:revocations";

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

// Opens the database (database_url, or SQLite under data_dir, creating the
// folder) and migrates it. The pool has a connection for every thread that
// may use the database at once, so a lease waits only on another process.
Result<db::DatabasePtr> open_db(const Config& c, bool run_migrations) {
  std::error_code ec;
  fs::create_directories(c.data_dir, ec);
  if (ec) return Status::unavailable("cannot create data dir " + c.data_dir + ": " + ec.message());
  const int threads = c.workers + c.io_threads + c.inference_workers + c.design_workers + 2;
  const int pool = c.database_pool > 0 ? c.database_pool : std::max(4, threads);
  const std::string url = c.database_url.empty()
                              ? "sqlite:" + (fs::path(c.data_dir) / "atelier.db").string()
                              : c.database_url;
  ATELIER_ASSIGN_OR_RETURN(db::DatabasePtr database, db::open_database(url, pool));
  if (run_migrations) {
    auto v = database->migrate(schema_migrations());
    if (!v.is_ok()) return v.status();
  }
  return database;
}

// The HS256 key: from configuration, or (development) generated once and
// kept in the data dir so tokens survive restarts.
Result<std::string> jwt_secret(const Config& c) {
  if (!c.jwt_secret.empty()) return c.jwt_secret;
  const auto path = fs::path(c.data_dir) / "jwt.secret";
  {
    std::ifstream in(path);
    std::string s;
    if (in && std::getline(in, s) && s.size() >= 32) return s;
  }
  std::string s = random_hex(32);
  {
    std::ofstream out(path, std::ios::trunc);
    if (!out) return Status::unavailable("cannot write " + path.string());
    out << s << "\n";
  }
  ::chmod(path.c_str(), 0600);
  return s;
}

PasswordParams password_params(const Config& c) {
  return {static_cast<unsigned long long>(c.argon2_ops),
          static_cast<std::size_t>(c.argon2_mem_kib) * 1024};
}

// The first folder of the models search path that holds `relative`.

int fail(const Status& st) {
  std::cerr << "error: " << st.message() << "\n";
  return st.code() == Code::invalid_argument ? 2 : 1;
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

int serve(const Config& cfg) {
  net::global_init();  // before any thread: curl_global_init is not thread-safe
  // Give memory back after bursts: glibc raises its mmap threshold each time
  // a large block is freed, after which decoded images and model buffers
  // come from the heap arenas and stay resident (a burst of 6000x6000 PNGs
  // left RSS near 600 MB). A fixed threshold keeps large blocks mmapped, so
  // freeing them unmaps them. It sits at 4 MiB, above a detect's per-request
  // buffers (the 2 MB input blob, the 1.2 MB output): at 1 MiB each of them
  // was a fresh mapping whose pages faulted in on every request, 0.5-1 ms of
  // a 48 ms forward. The trim threshold keeps that much free at the top of a
  // heap instead of returning and re-faulting it on the next request.
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
  mallopt(M_TRIM_THRESHOLD, 8 << 20);
  Config c = cfg;
  // Request threads each run their own searches: one OpenBLAS thread apiece.
  openblas_set_num_threads(1);
  if (c.workers == 0)
    c.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  log::init(c.log_level);
  for (const auto& w : c.warnings) log::warn("configuration", {{"warning", w}});
  if (auto st = init_crypto(); !st.is_ok()) return fail(st);

  auto db_r = open_db(c, /*run_migrations=*/true);
  if (!db_r.is_ok()) {
    log::error("storage unavailable", {{"error", db_r.status().message()}});
    log::shutdown();
    return fail(db_r.status());
  }
  db::DatabasePtr database = std::move(db_r).value();
  // Identity and usage are the platform's own: the pipeline needs them.
  AccountRepository accounts(*database);
  UsageRepository usage(*database);
  auto secret = jwt_secret(c);
  if (!secret.is_ok()) return fail(secret.status());

  Authenticator auth(accounts, JwtCodec(*secret, c.jwt_issuer, c.jwt_ttl_s), password_params(c),
                     c.allow_anonymous, std::chrono::seconds(c.credential_cache_s));
  RateLimitConfig rl{c.global_per_minute, c.global_per_hour, c.identity_per_minute,
                     c.block_after_violations, c.block_duration_s};
  // Replicas share their limits, quotas and revocations through Redis; one
  // process alone keeps them in memory.
  std::unique_ptr<redis::Client> redis_client;
  auto redis_health = std::make_shared<RedisHealth>();
  const auto redis_mode =
      c.redis_failure == "open" ? RedisFailureMode::open : RedisFailureMode::closed;
  std::unique_ptr<redis::Subscription> revocations;
  if (!c.redis_url.empty()) {
    auto rc = redis::Client::create({c.redis_url});
    if (!rc.is_ok()) return fail(rc.status());
    redis_client = std::move(rc).value();
    redis::Client* r = redis_client.get();
    auth.set_broadcast([r](const std::string& event) {
      if (auto st = r->command({"PUBLISH", kRevocationChannel, event}); !st.is_ok())
        log::warn("revocation not broadcast", {{"event", event}, {"error", st.status().message()}});
    });
    revocations = r->subscribe(
        kRevocationChannel, [&auth](const std::string& event) { auth.apply(event); },
        [&auth] { auth.clear_caches(); });  // broadcasts may have been missed meanwhile
  }
  std::unique_ptr<RateLimiter> limiter;
  std::unique_ptr<QuotaLedger> ledger;
  std::unique_ptr<Meter> meter;
  if (redis_client) {
    auto limits = make_redis_limits(rl, usage, system_clock_seconds(), *redis_client, redis_mode,
                                    redis_health);
    limiter = std::move(limits.limiter);
    ledger = std::move(limits.ledger);
    meter = std::move(limits.meter);
  } else {
    limiter = make_memory_rate_limiter(rl, system_clock_seconds());
    ledger = make_memory_quota_ledger(usage, system_clock_seconds());
    meter = make_meter(*limiter, *ledger);
  }
  auto concurrency = redis_client
                         ? make_redis_concurrency_limiter(
                               *redis_client, redis_mode, redis_health,
                               [] { return unix_millis(); }, std::chrono::seconds(c.stream_lease_s))
                         : make_memory_concurrency_limiter();
  WorkerPool pool("cpu", static_cast<std::size_t>(c.workers),
                  static_cast<std::size_t>(c.queue_capacity));
  WorkerPool inference_pool("inference", static_cast<std::size_t>(c.inference_workers),
                            static_cast<std::size_t>(c.inference_queue));
  WorkerPool outbound_pool("outbound", static_cast<std::size_t>(c.outbound_workers),
                           static_cast<std::size_t>(c.inference_queue));
  Metrics metrics;
  HealthRegistry health;

  health.add("database", true, [&database] {
    Status st = database->ping();
    return ComponentHealth{
        st.is_ok(), st.is_ok() ? "" : st.message(), {{"backend", database->describe()}}};
  });
  health.add("work_queue", true, [&pool] {
    auto s = pool.stats();
    bool ok = s.queued < s.capacity;
    return ComponentHealth{ok,
                           ok ? "" : "queue saturated",
                           {{"queued", s.queued}, {"capacity", s.capacity}, {"active", s.active}}};
  });

  if (redis_client) {
    // Closed: without Redis this replica refuses metered work, so readiness
    // fails; open: it serves on its own counters, and readiness says degraded.
    redis::Client* r = redis_client.get();
    health.add("redis", redis_mode == RedisFailureMode::closed, [r, &c] {
      auto pong = r->command({"PING"});
      return ComponentHealth{pong.is_ok(),
                             pong.is_ok() ? "" : pong.status().message(),
                             {{"failure_mode", c.redis_failure}}};
    });
    metrics.add_sampled_gauge("atelier_redis_up", "Whether Redis answered the last call.", {},
                              [r] { return r->up() ? 1.0 : 0.0; });
    metrics.add_sampled_counter(
        "atelier_redis_fallback_total",
        "Limit and quota checks answered by this replica alone while Redis was unreachable "
        "(failure mode open).",
        {}, [h = redis_health] { return static_cast<double>(h->fallbacks.load()); });
    metrics.add_sampled_counter(
        "atelier_redis_refused_total",
        "Limit and quota checks refused (503) while Redis was unreachable (failure mode closed).",
        {}, [h = redis_health] { return static_cast<double>(h->refusals.load()); });
  }

  for (WorkerPool* p : {&pool, &inference_pool, &outbound_pool}) {
    const std::map<std::string, std::string> pool_label{{"pool", p->name()}};
    metrics.add_sampled_gauge("atelier_work_queue_depth", "Tasks waiting for a worker.", pool_label,
                              [p] { return static_cast<double>(p->stats().queued); });
    metrics.add_sampled_gauge("atelier_work_active", "Tasks running on workers.", pool_label,
                              [p] { return static_cast<double>(p->stats().active); });
    metrics.add_sampled_gauge("atelier_work_queue_capacity", "Queue capacity before 503.",
                              pool_label, [p] { return static_cast<double>(p->stats().capacity); });
    metrics.add_sampled_counter("atelier_work_rejected_total",
                                "Tasks refused because the queue was full.", pool_label,
                                [p] { return static_cast<double>(p->stats().rejected); });
    metrics.add_sampled_counter("atelier_work_cancelled_total",
                                "Queued tasks dropped because their client went away.", pool_label,
                                [p] { return static_cast<double>(p->stats().skipped_cancelled); });
    metrics.add_sampled_counter("atelier_work_expired_total",
                                "Queued tasks dropped because their deadline passed.", pool_label,
                                [p] { return static_cast<double>(p->stats().skipped_expired); });
    metrics.add_sampled_counter(
        "atelier_work_overran_total",
        "Tasks that started in time and finished after their deadline (the client got 504).",
        pool_label, [p] { return static_cast<double>(p->stats().overran); });
  }

  http::Router router;
  http::Pipeline* pipeline_ptr = nullptr;
  api::ApiDeps deps{c,         auth,
                    *limiter,  *ledger,
                    metrics,   health,
                    pool,      [&pipeline_ptr] { return pipeline_ptr && pipeline_ptr->draining(); },
                    kVersion,  SteadyClock::now(),
                    c.docs_dir};
  // Pixels decoded at once across requests: bursts of huge images wait or
  // get 503 instead of taking the process's memory (see image/image.h).
  image::DecodeBudget decode_budget(c.decode_pixel_budget > 0 ? c.decode_pixel_budget
                                                              : 2 * c.max_image_pixels);
  deps.decode_budget = &decode_budget;
  // Page cursors are signed with a key derived from the token secret, which
  // every replica shares, so each reads the others' cursors.
  const PageCursors cursors(*secret);
  deps.cursors = &cursors;
  deps.inference_pool = &inference_pool;
  deps.outbound_pool = &outbound_pool;
  metrics.add_sampled_gauge(
      "atelier_decode_pixels_in_use", "Pixels being decoded now, across requests.", {},
      [&decode_budget] { return static_cast<double>(decode_budget.in_use()); });
  metrics.add_sampled_counter(
      "atelier_decode_budget_refused_total",
      "Image decodes refused (503) for want of decode budget.", {},
      [&decode_budget] { return static_cast<double>(decode_budget.refused()); });
  auto openapi = std::make_shared<std::string>();
  api::add_ops_routes(router, deps);
  api::add_docs_routes(router, deps, openapi);
  // The capabilities, in order: later ones use the models earlier ones
  // registered (text and image embedders) and what they export (below).
  // Adding a capability is one line here, its folder and its migration.
  UserDataRegistry user_data;  // each capability's part; read per request, after start
  // Declared before the modules, which keep references into it.
  Platform platform{c,         *database, accounts, *ledger, metrics, health,
                    user_data, router,    deps,     {},      {},      {}};
  platform.concurrency = concurrency.get();
  // Result caches: one LRU per capability, in front of Redis when replicas share one.
  platform.make_cache = [&c, &metrics, r = redis_client.get()](
                            const std::string& name,
                            std::size_t max_bytes) -> std::unique_ptr<cache::Cache> {
    const auto entries = static_cast<std::size_t>(c.cache_size);
    std::unique_ptr<cache::Cache> out;
    if (r) {
      out = std::make_unique<cache::SharedCache>(
          name, *r,
          cache::SharedCache::Options{entries, max_bytes, std::chrono::seconds(c.cache_ttl_s)});
    } else {
      out = std::make_unique<cache::LruCache>(entries, max_bytes);
    }
    metrics.add_cache(name, [p = out.get()] { return p->stats(); });
    return out;
  };
  // What capabilities offer each other passes through here, named: the text
  // analyzer to embeddings and search, search's collections to chat, the
  // wardrobe's advice to chat and its outfit judge to vision (both asked from
  // ready(), once every module has started). Declared before the modules,
  // which keep pointers to them.
  text::Exports text_exports;
  search::Exports search_exports;
  wardrobe::Exports wardrobe_exports;
  std::vector<ModulePtr> modules;
  modules.push_back(text::make_module(&text_exports));
  modules.push_back(embed::make_module(&text_exports));
  modules.push_back(vision::make_module([&] { return wardrobe_exports.outfit_judge; }));
  modules.push_back(search::make_module(&text_exports, &search_exports));
  modules.push_back(design::make_module());
  modules.push_back(wardrobe::make_module(&wardrobe_exports));
  modules.push_back(chat::make_module(
      {.search = &search_exports, .advisor = [&] { return wardrobe_exports.advisor; }}));
  modules.push_back(accounts::make_module());
  for (auto& m : modules) {
    if (Status mst = m->start(platform); !mst.is_ok()) {
      log::error("capability failed to start", {{"module", m->name()}, {"error", mst.message()}});
      log::shutdown();
      return fail(mst);
    }
  }
  for (auto& m : modules) {
    if (Status mst = m->ready(platform); !mst.is_ok()) return fail(mst);
  }
  *openapi = http::build_openapi(router, kVersion).dump();

  http::PipelineOptions po;
  po.max_body_bytes = c.max_body_bytes;
  po.request_timeout = std::chrono::seconds(c.request_timeout_s);
  po.cors_origins = c.cors_origins;
  po.access_log = c.access_log;
  for (int i = 0; i < 4; ++i) po.daily_limit[i] = c.daily_limit[i];
  http::Pipeline pipeline(po, router, auth, *limiter, *ledger, *meter, pool, metrics,
                          &inference_pool, &outbound_pool);
  pipeline_ptr = &pipeline;
  metrics.add_sampled_counter(
      "atelier_admission_refused_total",
      "Requests refused (503) because the queued work would not let them finish by their deadline.",
      {}, [&pipeline] { return static_cast<double>(pipeline.admission().refused()); });

  // Usage counters are written behind, once a second and at shutdown.
  Mutex flush_mu;
  CondVar flush_cv;
  bool stopping = false;  // under flush_mu
  // Module housekeeping (design retention) runs here too, once an hour.
  std::thread flusher([&] {
    MutexLock lock(flush_mu);
    auto next_retention = SteadyClock::now() + std::chrono::hours(1);
    for (;;) {
      // Up to a second, or until stopping is set.
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      while (!stopping && flush_cv.wait_until(flush_mu, until)) {
      }
      if (stopping) break;
      lock.unlock();
      if (Status st = ledger->flush(); !st.is_ok())
        log::warn("usage flush failed", {{"error", st.message()}});
      if (SteadyClock::now() >= next_retention) {
        next_retention = SteadyClock::now() + std::chrono::hours(1);
        for (auto& m : modules) m->hourly();
      }
      lock.lock();
    }
  });

  http::ServerOptions so;
  so.host = c.host;
  so.port = c.port;
  // A Redis check (limits, quota) waits about 0.1 ms on the network thread:
  // four threads overlap those waits (bench/scale: 4.7k req/s with one, 16k
  // with four, on two cores); one process alone never waits there.
  so.io_threads = c.io_threads > 0 ? c.io_threads : (c.redis_url.empty() ? 1 : 4);
  so.max_connections = c.max_connections;
  so.read_timeout = std::chrono::seconds(c.read_timeout_s);
  so.handle_timeout = std::chrono::seconds(c.request_timeout_s + 5);
  so.drain_timeout = std::chrono::seconds(c.drain_timeout_s);
  so.max_body_hard_bytes = c.max_body_hard_bytes;
  so.trust_forwarded_for = c.trust_forwarded_for;
  so.ws_ping_interval = std::chrono::seconds(c.ws_ping_s);
  so.ws_idle_timeout = std::chrono::seconds(c.ws_idle_s);
  http::Server server(so, pipeline);
  Status st = server.run([&] {
    log::info("listening", {{"host", c.host},
                            {"port", c.port},
                            {"version", kVersion},
                            {"profile", c.env},
                            {"data_dir", c.data_dir},
                            {"models_dir", c.models_dir},
                            {"store", database->describe()},
                            {"workers", c.workers},
                            {"routes", router.routes().size()}});
  });

  pool.shutdown();
  inference_pool.shutdown();
  outbound_pool.shutdown();
  for (auto& m : modules) m->stop();  // e.g. index files for the next start
  {
    MutexLock lock(flush_mu);
    stopping = true;
  }
  flush_cv.notify_all();
  flusher.join();
  if (Status fst = ledger->flush(); !fst.is_ok())
    log::error("final usage flush failed", {{"error", fst.message()}});
  if (!st.is_ok()) {
    log::error("server failed", {{"error", st.message()}});
    log::shutdown();
    return fail(st);
  }
  log::info("stopped");
  log::shutdown();
  return 0;
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
  if (!c.redis_url.empty()) {
    // Running replicas drop the key from their caches now, not after a TTL.
    auto r = redis::Client::create({c.redis_url});
    auto sent = r.is_ok()
                    ? (*r)->command({"PUBLISH", kRevocationChannel, "key:" + std::to_string(id)})
                    : Result<redis::Reply>(r.status());
    if (!sent.is_ok()) {
      std::cerr << "warning: replicas not told (" << sent.status().message()
                << "); they refuse the key within " << c.credential_cache_s << " s\n";
    } else {
      // PUBLISH answers how many subscribers (replicas) received it.
      std::cout << "told " << sent->integer << " replicas\n";
    }
  }
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

}  // namespace atelier::app
