#include "design/module.h"

#include <filesystem>
#include <sstream>

#include "design/routes.h"
#include "design/service.h"
#include "engines/hosted/design_hosted.h"
#include "engines/local/recolor.h"
#include "obs/log.h"
#include "store/blobs.h"

namespace atelier::design {
namespace {

// The interior design studio: rooms and design jobs on the local recolour
// engine, and on Replicate / Hugging Face behind circuit breakers when they
// are configured; blobs under <data dir>/blobs; retention once an hour.
class DesignModule final : public Module {
 public:
  const char* name() const override { return "design"; }
  Status start(Platform& p) override {
    const Config& c = p.config;
    blobs_ = open_file_blob_store((std::filesystem::path(c.data_dir) / "blobs").string());
    std::map<std::string, engines::DesignEngine*> design_engines{{"local", &recolor_engine_}};
    // Hosted engines are on when configured; each sits behind a circuit breaker.
    auto add_hosted = [&](std::unique_ptr<engines::DesignEngine> e) {
      auto b = std::make_unique<engines::BreakerEngine>(std::move(e), c.breaker_threshold,
                                                        std::chrono::seconds(c.breaker_cooldown_s));
      const std::map<std::string, std::string> label{{"engine", b->name()}};
      const engines::BreakerEngine* raw = b.get();
      p.metrics.add_sampled_gauge(
          "ai_engine_circuit_open", "1 while the engine's circuit breaker refuses calls.", label,
          [raw] { return raw->breaker().state() == CircuitBreaker::State::closed ? 0.0 : 1.0; });
      p.metrics.add_sampled_counter(
          "ai_engine_circuit_rejected_total", "Calls refused by an open circuit.", label,
          [raw] { return static_cast<double>(raw->breaker().rejected()); });
      p.metrics.add_sampled_counter("ai_engine_circuit_opened_total",
                                    "Times the engine's circuit opened.", label,
                                    [raw] { return static_cast<double>(raw->breaker().opened()); });
      design_engines[b->name()] = b.get();
      hosted_engines_.push_back(std::move(b));
    };
    if (!c.replicate_api_token.empty() && !c.replicate_model_version.empty()) {
      engines::ReplicateOptions ro;
      ro.base_url = c.replicate_base_url;
      ro.token = c.replicate_api_token;
      ro.version = c.replicate_model_version;
      ro.output_hosts.clear();
      std::stringstream hosts(c.replicate_output_hosts);
      for (std::string h; std::getline(hosts, h, ',');)
        if (!h.empty()) ro.output_hosts.push_back(h);
      ro.allow_private = c.hosted_allow_private;
      ro.poll_interval = std::chrono::milliseconds(c.replicate_poll_ms);
      add_hosted(std::make_unique<engines::ReplicateEngine>(ro));
    }
    if (!c.hf_endpoint_url.empty()) {
      add_hosted(std::make_unique<engines::HfInferenceEngine>(
          engines::HfInferenceOptions{c.hf_endpoint_url, c.hf_api_token}));
    }
    if (!design_engines.count(c.ai_engine) && c.ai_engine != "openai")
      log::warn("configuration", {{"warning", "ai_engine '" + c.ai_engine +
                                                  "' is not configured; designs use 'local'"}});
    DesignSettings ds;
    ds.workers = c.design_workers;
    ds.lease = std::chrono::seconds(c.design_lease_s);
    ds.queue_capacity = static_cast<std::size_t>(c.design_queue);
    ds.ai_timeout = std::chrono::seconds(c.ai_timeout_s);
    ds.cost_per_generation = {{"local", c.design_cost_local},
                              {"replicate", c.design_cost_replicate},
                              {"hf_inference", c.design_cost_hf}};
    ds.monthly_budget = c.design_monthly_budget;
    ds.daily_generations[0] = c.design_daily_free;
    ds.daily_generations[1] = c.design_daily_authenticated;
    ds.daily_generations[2] = c.design_daily_premium;
    ds.daily_generations[3] = c.design_daily_admin;
    ds.default_engine = design_engines.count(c.ai_engine) ? c.ai_engine : "local";
    ds.engine_per_request = c.design_engine_per_request;
    ds.retention_days = c.design_retention_days;
    ds.deterministic = c.deterministic;
    std::vector<std::string> engine_names;
    for (auto& [k, v] : design_engines) engine_names.push_back(k);
    Metrics& m = p.metrics;
    DesignObserver observer{m.generation_observer(engine_names),
                            [&m](int tier, const std::string& limit) {
                              m.rate_limited(tier_name(static_cast<Tier>(tier)), limit);
                            }};
    repo_ = std::make_unique<DesignRepository>(p.db);
    service_ = std::make_unique<DesignService>(
        *repo_, *blobs_, p.ledger, design_engines, ds, observer, c.max_image_pixels,
        p.make_cache ? p.make_cache("edges", std::size_t(1) << 20) : nullptr);
    if (auto n = service_->recover(); n.is_ok() && *n > 0)
      log::info("design jobs resumed", {{"jobs", *n}});
    if (auto n = service_->apply_retention(); n.is_ok() && *n > 0)
      log::info("designs expired", {{"designs", *n}});
    api::add_design_routes(p.router, p.deps, *service_);
    p.user_data.add(api::design_user_data(*service_));
    DesignService* svc = service_.get();
    p.metrics.add_sampled_gauge("atelier_design_queue_depth", "Design jobs waiting for a worker.",
                                {}, [svc] { return static_cast<double>(svc->queued()); });
    return Status::ok();
  }
  void hourly() override {
    if (auto n = service_->apply_retention(); n.is_ok() && *n > 0)
      log::info("designs expired", {{"designs", *n}});
  }

 private:
  std::unique_ptr<DesignRepository> repo_;
  std::unique_ptr<BlobStore> blobs_;
  engines::RecolorEngine recolor_engine_;
  std::vector<std::unique_ptr<engines::BreakerEngine>> hosted_engines_;
  std::unique_ptr<DesignService> service_;  // after the engines it calls
};

}  // namespace

ModulePtr make_module() {
  return std::make_unique<DesignModule>();
}

}  // namespace atelier::design
