// The contract between the composition root (app/) and each capability. A
// capability is one folder: its service, repository, engines' wiring, routes
// and tests, and a Module that builds the service from the configuration and
// registers its routes, health components, metrics and part of each user's
// data. app/ lists the modules in order; adding a capability is its folder,
// one line in that list, and its migration (store/migrations.cpp).
//
// Thread safety: start() and ready() run once, in list order, before the
// server listens; hourly() on the housekeeping thread; stop() once, after the
// server has drained. Nothing here is called concurrently.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "cache/cache.h"
#include "config/config.h"
#include "core/health.h"
#include "core/status.h"
#include "engines/embedder.h"
#include "engines/image_models.h"
#include "engines/vision.h"
#include "identity/account_repository.h"
#include "obs/metrics.h"
#include "platform/user_data.h"
#include "quota/concurrency.h"
#include "quota/limits.h"
#include "store/database.h"

namespace atelier {

namespace http {
class Router;
}
namespace api {
struct ApiDeps;
}

// What the platform gives every module: its own services and the model
// registries (filled in list order).
struct Platform {
  const Config& config;
  db::Database& db;             // capabilities build their repositories on it
  AccountRepository& accounts;  // the platform's own (identity); also the accounts module's
  QuotaLedger& ledger;
  Metrics& metrics;
  HealthRegistry& health;
  UserDataRegistry& user_data;  // each capability adds its part of a user's data
  http::Router& router;
  api::ApiDeps& deps;  // what routes receive

  // The model registries, the platform's own: capabilities register the
  // models they load and read the ones they use by name. Text embedders
  // (GloVe, native BERT/CLIP text towers) and image embedders (MobileNetV2
  // from vision, CLIP image towers). What a capability offers another (the
  // analyzer, search's collections, the wardrobe's advice) is not here: the
  // composition root hands it over by name (app/app.cpp).
  engines::EmbedderRegistry embedders;
  engines::ImageModels image_models;
  // A result cache named `name` holding up to `max_bytes` in this process:
  // shared with the other replicas through Redis when one is configured. Its
  // hit and miss metrics are registered. Set by the composition root.
  std::function<std::unique_ptr<cache::Cache>(const std::string& name, std::size_t max_bytes)>
      make_cache;
  // Counts long-lived work per caller (open chat streams): across replicas
  // when they share Redis. Set by the composition root; may be null.
  ConcurrencyLimiter* concurrency = nullptr;
};

class Module {
 public:
  virtual ~Module() = default;
  virtual const char* name() const = 0;
  // Builds the capability and registers it; an error keeps the server from
  // starting (a missing model is not an error: its routes answer 503 saying why).
  virtual Status start(Platform& p) = 0;
  // After every module has started: registrations that need the shared
  // registries complete.
  virtual Status ready(Platform&) { return Status::ok(); }
  // Housekeeping, about once an hour (retention).
  virtual void hourly() {}
  // After the server has drained: persist what the next start reuses.
  virtual void stop() {}
};
using ModulePtr = std::unique_ptr<Module>;

}  // namespace atelier
