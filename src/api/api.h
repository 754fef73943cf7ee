// HTTP routes of the platform. Each add_* function declares its routes
// (access, cost, execution, schemas) and their handlers, which call into the
// domain (auth, quota, health) and translate results; they hold no state.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "auth/authenticator.h"
#include "auth/user_data.h"
#include "config/config.h"
#include "core/health.h"
#include "core/worker_pool.h"
#include "embed/embedder.h"
#include "engines/vision.h"
#include "http/router.h"
#include "image/image.h"
#include "obs/metrics.h"
#include "quota/limits.h"
#include "search/service.h"
#include "text/analyzer.h"
#include "vision/service.h"

namespace atelier::design {
class DesignService;
}

namespace atelier::api {

struct ApiDeps {
  const Config& config;
  Authenticator& auth;
  RateLimiter& limiter;
  QuotaLedger& ledger;
  Metrics& metrics;
  HealthRegistry& health;
  WorkerPool& pool;
  std::function<bool()> draining;
  std::string version;
  SteadyClock::time_point started;
  std::string docs_dir;                          // swagger-ui-dist; empty when not installed
  image::DecodeBudget* decode_budget = nullptr;  // pixels decoded at once, across requests
};

// The decoding limits every image route uses: the configured pixel limit, the
// shared decode budget (waited for until the request's deadline), and the
// longest side to keep.
image::Limits image_limits(const ApiDeps& d, int max_side, const WorkContext& work);

void add_ops_routes(http::Router& router, ApiDeps& deps);
// `openapi` is filled once every route is registered.
void add_docs_routes(http::Router& router, ApiDeps& deps,
                     std::shared_ptr<const std::string> openapi);
// `data` lists every capability's part of a user's data (export, deletion);
// it must outlive the router and be complete before the server starts.
void add_account_routes(http::Router& router, ApiDeps& deps, const UserDataRegistry& data,
                        Store& store);
void add_text_routes(http::Router& router, ApiDeps& deps, const text::Analyzer& analyzer);
// `unavailable_reason`: why the default model is missing ("" when loaded).
void add_embedding_routes(http::Router& router, ApiDeps& deps,
                          const embed::EmbedderRegistry& embedders,
                          const std::string& unavailable_reason);
void add_search_routes(http::Router& router, ApiDeps& deps, search::SearchService& svc);
// Shared by the text and image collection routes.
Result<MetadataFilter> parse_metadata_filter(const std::string& filter);  // "key:value"
search::Caller caller_of(const Identity& id);
http::Response ingest_response(const std::string& collection, const UpsertCounts& counts);
// Image models by name (MobileNetV2 from the vision stack, CLIP image towers
// from the native encoders); models that failed to load keep their reason.
struct ImageModels {
  std::map<std::string, engines::ImageEncoder*> encoders;
  std::map<std::string, std::string> unavailable;
  // not_found for an unknown name, unavailable (with the reason) for one that did not load.
  Result<engines::ImageEncoder*> get(const std::string& model) const;
};
// `images` must outlive the router.
void add_image_embedding_routes(http::Router& router, ApiDeps& deps, const ImageModels& images);
void add_vision_routes(http::Router& router, ApiDeps& deps, vision::VisionService& svc);
// Image collections: items are embedded by the collection's image model and
// searched by an image (and, for CLIP collections, by text through the
// ordinary search route, since CLIP's text tower shares the space).
void add_image_collection_routes(http::Router& router, ApiDeps& deps, search::SearchService& svc,
                                 const ImageModels& images);

// Interior design studio: rooms, design jobs, presets, spend.
void add_design_routes(http::Router& router, ApiDeps& deps, design::DesignService& svc);
// The parts of a user's data that search and design hold.
UserDataPart search_user_data(search::SearchService& svc, Store& store);
UserDataPart design_user_data(design::DesignService& svc);

}  // namespace atelier::api
