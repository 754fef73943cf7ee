// `atelier serve`: the composition root at work. It opens the store, builds
// identity, limits, pools, metrics and health, starts every capability
// module on the platform, and runs the HTTP server until SIGTERM drains it.
#include <malloc.h>

#include <cblas.h>

#include <thread>

#include "accounts/module.h"
#include "app/app.h"
#include "app/ops_routes.h"
#include "app/startup.h"
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
#include "idempotency/idempotency_repository.h"
#include "identity/account_repository.h"
#include "identity/authenticator.h"
#include "net/http_client.h"
#include "obs/log.h"
#include "obs/metrics.h"
#include "platform/module.h"
#include "platform/user_data.h"
#include "quota/limits.h"
#include "quota/redis_limits.h"
#include "quota/usage_repository.h"
#include "search/module.h"
#include "store/redis/redis.h"
#include "text/module.h"
#include "vision/module.h"
#include "wardrobe/module.h"

namespace atelier::app {

namespace {

// Process-wide settings made once, before any thread starts.
void tune_process(Config& c) {
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
  // Request threads each run their own searches: one OpenBLAS thread apiece.
  openblas_set_num_threads(1);
  if (c.workers == 0)
    c.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  log::init(c.log_level);
  for (const auto& w : c.warnings) log::warn("configuration", {{"warning", w}});
}

// Rate limits, quotas, the meter over both and the concurrency limiter:
// shared by the replicas through Redis when one is configured (revocations
// then travel on its channel too), else this process's own counters.
struct Limits {
  std::unique_ptr<redis::Client> redis;
  std::shared_ptr<RedisHealth> redis_health = std::make_shared<RedisHealth>();
  RedisFailureMode redis_mode = RedisFailureMode::closed;
  std::unique_ptr<redis::Subscription> revocations;
  std::unique_ptr<RateLimiter> limiter;
  std::unique_ptr<QuotaLedger> ledger;
  std::unique_ptr<Meter> meter;
  std::unique_ptr<ConcurrencyLimiter> concurrency;
};

Status connect_revocations(Limits& l, Authenticator& auth) {
  redis::Client* r = l.redis.get();
  auth.set_broadcast([r](const std::string& event) {
    if (auto st = r->command({"PUBLISH", kRevocationChannel, event}); !st.is_ok())
      log::warn("revocation not broadcast", {{"event", event}, {"error", st.status().message()}});
  });
  l.revocations = r->subscribe(
      kRevocationChannel, [&auth](const std::string& event) { auth.apply(event); },
      [&auth] { auth.clear_caches(); });  // broadcasts may have been missed meanwhile
  return Status::ok();
}

Result<Limits> make_limits(const Config& c, Authenticator& auth, UsageRepository& usage) {
  Limits l;
  const RateLimitConfig rl{c.global_per_minute, c.global_per_hour, c.identity_per_minute,
                           c.block_after_violations, c.block_duration_s};
  l.redis_mode = c.redis_failure == "open" ? RedisFailureMode::open : RedisFailureMode::closed;
  if (c.redis_url.empty()) {
    l.limiter = make_memory_rate_limiter(rl, system_clock_seconds());
    l.ledger = make_memory_quota_ledger(usage, system_clock_seconds());
    l.meter = make_meter(*l.limiter, *l.ledger);
    l.concurrency = make_memory_concurrency_limiter();
    return l;
  }
  ATELIER_ASSIGN_OR_RETURN(l.redis, redis::Client::create({c.redis_url}));
  ATELIER_RETURN_IF_ERROR(connect_revocations(l, auth));
  auto limits =
      make_redis_limits(rl, usage, system_clock_seconds(), *l.redis, l.redis_mode, l.redis_health);
  l.limiter = std::move(limits.limiter);
  l.ledger = std::move(limits.ledger);
  l.meter = std::move(limits.meter);
  l.concurrency = make_redis_concurrency_limiter(
      *l.redis, l.redis_mode, l.redis_health, [] { return unix_millis(); },
      std::chrono::seconds(c.stream_lease_s));
  return l;
}

// The three pools work runs on: the CPU pool, model inference, and calls
// that mostly wait (hosted engines, long streams).
struct Pools {
  explicit Pools(const Config& c)
      : cpu("cpu", static_cast<std::size_t>(c.workers), static_cast<std::size_t>(c.queue_capacity)),
        inference("inference", static_cast<std::size_t>(c.inference_workers),
                  static_cast<std::size_t>(c.inference_queue)),
        outbound("outbound", static_cast<std::size_t>(c.outbound_workers),
                 static_cast<std::size_t>(c.inference_queue)) {}
  void shutdown() {
    cpu.shutdown();
    inference.shutdown();
    outbound.shutdown();
  }
  WorkerPool cpu;
  WorkerPool inference;
  WorkerPool outbound;
};

void add_pool_metrics(Metrics& metrics, Pools& pools) {
  for (WorkerPool* p : {&pools.cpu, &pools.inference, &pools.outbound}) {
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
}

void add_platform_health(HealthRegistry& health, db::Database& database, WorkerPool& pool) {
  health.add("database", true, [&database] {
    Status st = database.ping();
    return ComponentHealth{
        st.is_ok(), st.is_ok() ? "" : st.message(), {{"backend", database.describe()}}};
  });
  health.add("work_queue", true, [&pool] {
    auto s = pool.stats();
    bool ok = s.queued < s.capacity;
    return ComponentHealth{ok,
                           ok ? "" : "queue saturated",
                           {{"queued", s.queued}, {"capacity", s.capacity}, {"active", s.active}}};
  });
}

void add_redis_health(const Config& c, const Limits& l, HealthRegistry& health, Metrics& metrics) {
  // Closed: without Redis this replica refuses metered work, so readiness
  // fails; open: it serves on its own counters, and readiness says degraded.
  redis::Client* r = l.redis.get();
  health.add("redis", l.redis_mode == RedisFailureMode::closed, [r, &c] {
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
      {}, [h = l.redis_health] { return static_cast<double>(h->fallbacks.load()); });
  metrics.add_sampled_counter(
      "atelier_redis_refused_total",
      "Limit and quota checks refused (503) while Redis was unreachable (failure mode closed).", {},
      [h = l.redis_health] { return static_cast<double>(h->refusals.load()); });
}

void add_decode_metrics(Metrics& metrics, const image::DecodeBudget& budget) {
  metrics.add_sampled_gauge("atelier_decode_pixels_in_use",
                            "Pixels being decoded now, across requests.", {},
                            [&budget] { return static_cast<double>(budget.in_use()); });
  metrics.add_sampled_counter("atelier_decode_budget_refused_total",
                              "Image decodes refused (503) for want of decode budget.", {},
                              [&budget] { return static_cast<double>(budget.refused()); });
}

// Result caches: one LRU per capability, in front of Redis when replicas share one.
std::function<std::unique_ptr<cache::Cache>(const std::string&, std::size_t)> cache_factory(
    const Config& c, Metrics& metrics, redis::Client* r) {
  return [&c, &metrics, r](const std::string& name,
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
}

// The capabilities, and what they offer each other, named: the text
// analyzer to embeddings and search, search's collections to chat, the
// wardrobe's advice to chat and its outfit judge to vision (both asked from
// ready(), once every module has started). The modules keep pointers into
// this, so it stays where it was made.
struct Capabilities {
  Capabilities() = default;
  Capabilities(const Capabilities&) = delete;
  Capabilities& operator=(const Capabilities&) = delete;

  text::Exports text;
  search::Exports search;
  wardrobe::Exports wardrobe;
  std::vector<ModulePtr> modules;
};

// In order: later modules use the models earlier ones registered (text and
// image embedders) and what they export. Adding a capability is one line
// here, its folder and its migration.
Status start_capabilities(Platform& platform, Capabilities& caps) {
  auto& m = caps.modules;
  m.push_back(text::make_module(&caps.text));
  m.push_back(embed::make_module(&caps.text));
  m.push_back(vision::make_module([&caps] { return caps.wardrobe.outfit_judge; }));
  m.push_back(search::make_module(&caps.text, &caps.search));
  m.push_back(design::make_module());
  m.push_back(wardrobe::make_module(&caps.wardrobe));
  m.push_back(chat::make_module({.search = &caps.search, .text = &caps.text, .advisor = [&caps] {
                                   return caps.wardrobe.advisor;
                                 }}));
  m.push_back(accounts::make_module());
  for (auto& module : m) {
    if (Status st = module->start(platform); !st.is_ok()) {
      log::error("capability failed to start",
                 {{"module", module->name()}, {"error", st.message()}});
      return st;
    }
  }
  for (auto& module : m) ATELIER_RETURN_IF_ERROR(module->ready(platform));
  return Status::ok();
}

// Usage counters are written behind, once a second and at shutdown; module
// housekeeping (design retention) runs here too, once an hour.
class Housekeeper {
 public:
  // `hourly` is the platform's own hourly work, before the modules'.
  Housekeeper(QuotaLedger& ledger, std::vector<ModulePtr>& modules, std::function<void()> hourly)
      : ledger_(ledger),
        modules_(modules),
        hourly_(std::move(hourly)),
        thread_([this] { loop(); }) {}
  Housekeeper(const Housekeeper&) = delete;
  Housekeeper& operator=(const Housekeeper&) = delete;
  ~Housekeeper() { stop(); }

  // Ends the loop and writes the last counters.
  void stop() {
    {
      MutexLock lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
    if (Status st = ledger_.flush(); !st.is_ok())
      log::error("final usage flush failed", {{"error", st.message()}});
  }

 private:
  void loop() {
    MutexLock lock(mu_);
    auto next_hourly = SteadyClock::now() + std::chrono::hours(1);
    for (;;) {
      // Up to a second, or until stopping is set.
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      while (!stopping_ && cv_.wait_until(mu_, until)) {
      }
      if (stopping_) break;
      lock.unlock();
      if (Status st = ledger_.flush(); !st.is_ok())
        log::warn("usage flush failed", {{"error", st.message()}});
      if (SteadyClock::now() >= next_hourly) {
        next_hourly = SteadyClock::now() + std::chrono::hours(1);
        hourly_();
        for (auto& m : modules_) m->hourly();
      }
      lock.lock();
    }
  }

  QuotaLedger& ledger_;
  std::vector<ModulePtr>& modules_;
  std::function<void()> hourly_;
  Mutex mu_;
  CondVar cv_;
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: it starts once the rest is built
};

// Stored answers of Idempotency-Key requests are the owner's data: deleted
// with the account (an export has them already, in each capability's part).
UserDataPart idempotency_part(IdempotencyRepository& keys) {
  return {"idempotency_keys",
          [](const std::string&) -> Result<nlohmann::ordered_json> {
            return nlohmann::ordered_json::object();
          },
          [&keys](const std::string& owner) { return keys.erase_owner(owner); }};
}

http::PipelineOptions pipeline_options(const Config& c) {
  http::PipelineOptions po;
  po.max_body_bytes = c.max_body_bytes;
  po.request_timeout = std::chrono::seconds(c.request_timeout_s);
  po.cors_origins = c.cors_origins;
  po.access_log = c.access_log;
  for (int i = 0; i < 4; ++i) po.daily_limit[i] = c.daily_limit[i];
  return po;
}

http::ServerOptions server_options(const Config& c) {
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
  return so;
}

void add_admission_metric(Metrics& metrics, http::Pipeline& pipeline) {
  metrics.add_sampled_counter(
      "atelier_admission_refused_total",
      "Requests refused (503) because the queued work would not let them finish by their deadline.",
      {}, [&pipeline] { return static_cast<double>(pipeline.admission().refused()); });
}

void log_listening(const Config& c, const db::Database& database, const http::Router& router) {
  log::info("listening", {{"host", c.host},
                          {"port", c.port},
                          {"version", kVersion},
                          {"profile", c.env},
                          {"data_dir", c.data_dir},
                          {"models_dir", c.models_dir},
                          {"store", database.describe()},
                          {"workers", c.workers},
                          {"routes", router.routes().size()}});
}

int fail_logged(const char* what, const Status& st) {
  log::error(what, {{"error", st.message()}});
  log::shutdown();
  return fail(st);
}

}  // namespace

int serve(const Config& cfg) {
  Config c = cfg;
  tune_process(c);
  if (auto st = init_crypto(); !st.is_ok()) return fail(st);
  auto db_r = open_db(c, /*run_migrations=*/true);
  if (!db_r.is_ok()) return fail_logged("storage unavailable", db_r.status());
  db::DatabasePtr database = std::move(db_r).value();
  // Identity and usage are the platform's own: the pipeline needs them.
  AccountRepository accounts(*database);
  UsageRepository usage(*database);
  auto secret = jwt_secret(c);
  if (!secret.is_ok()) return fail(secret.status());
  Authenticator auth(accounts, JwtCodec(*secret, c.jwt_issuer, c.jwt_ttl_s), password_params(c),
                     c.allow_anonymous, std::chrono::seconds(c.credential_cache_s));
  auto limits_r = make_limits(c, auth, usage);
  if (!limits_r.is_ok()) return fail(limits_r.status());
  Limits limits = std::move(limits_r).value();
  Pools pools(c);
  Metrics metrics;
  HealthRegistry health;
  add_platform_health(health, *database, pools.cpu);
  if (limits.redis) add_redis_health(c, limits, health, metrics);
  add_pool_metrics(metrics, pools);

  http::Router router;
  http::Pipeline* pipeline_ptr = nullptr;
  api::ApiDeps deps{c,
                    auth,
                    *limits.limiter,
                    *limits.ledger,
                    metrics,
                    health,
                    pools.cpu,
                    [&pipeline_ptr] { return pipeline_ptr && pipeline_ptr->draining(); },
                    kVersion,
                    SteadyClock::now(),
                    c.docs_dir};
  // Pixels decoded at once across requests: bursts of huge images wait or
  // get 503 instead of taking the process's memory (see image/image.h).
  image::DecodeBudget decode_budget(c.decode_pixel_budget > 0 ? c.decode_pixel_budget
                                                              : 2 * c.max_image_pixels);
  deps.decode_budget = &decode_budget;
  add_decode_metrics(metrics, decode_budget);
  // Page cursors are signed with a key derived from the token secret, which
  // every replica shares, so each reads the others' cursors.
  const PageCursors cursors(*secret);
  deps.cursors = &cursors;
  deps.inference_pool = &pools.inference;
  deps.outbound_pool = &pools.outbound;
  auto openapi = std::make_shared<std::string>();
  api::add_ops_routes(router, deps);
  api::add_docs_routes(router, deps, openapi);
  UserDataRegistry user_data;  // each capability's part; read per request, after start
  IdempotencyRepository idempotency(*database);
  user_data.add(idempotency_part(idempotency));
  // Declared before the modules, which keep references into it.
  Platform platform{
      c, *database, accounts, *limits.ledger, metrics, health, user_data, router, deps, {}, {}, {}};
  platform.concurrency = limits.concurrency.get();
  platform.make_cache = cache_factory(c, metrics, limits.redis.get());
  Capabilities caps;
  if (Status st = start_capabilities(platform, caps); !st.is_ok()) {
    log::shutdown();
    return fail(st);
  }
  std::vector<std::string> required_models;
  for (const auto& m : c.required_models) required_models.push_back("model:" + m);
  health.require(required_models);
  *openapi = http::build_openapi(router, kVersion).dump();

  http::Pipeline pipeline(pipeline_options(c), router, auth, *limits.limiter, *limits.ledger,
                          *limits.meter, pools.cpu, metrics, &pools.inference, &pools.outbound,
                          &idempotency);
  pipeline_ptr = &pipeline;
  add_admission_metric(metrics, pipeline);
  Housekeeper housekeeper(*limits.ledger, caps.modules, [&idempotency] {
    const auto before = system_clock_seconds()() - IdempotencyRepository::kKeepSeconds;
    if (auto gone = idempotency.purge(before); !gone.is_ok())
      log::warn("idempotency key purge failed", {{"error", gone.status().message()}});
  });

  http::Server server(server_options(c), pipeline);
  Status st = server.run([&] { log_listening(c, *database, router); });
  pools.shutdown();
  for (auto& m : caps.modules) m->stop();  // e.g. index files for the next start
  housekeeper.stop();
  if (!st.is_ok()) return fail_logged("server failed", st);
  log::info("stopped");
  log::shutdown();
  return 0;
}

}  // namespace atelier::app
