// What every capability's routes receive from the platform: identity,
// limits, metrics, health, the worker pool, drain state, the decode budget.
// Route files (`<capability>/routes.cpp`) are the only files of a capability
// that include http/; they parse, call the capability's service and shape
// JSON.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/health.h"
#include "core/page_cursor.h"
#include "core/worker_pool.h"
#include "identity/authenticator.h"
#include "identity/identity.h"
#include "image/image.h"
#include "obs/metrics.h"
#include "quota/limits.h"

namespace atelier::api {

// Vector indexes beyond the search collections (the wardrobe's), reported by
// GET /v1/index/stats: each part answers for one caller.
// Thread safety: add() before the server starts; parts() concurrently after.
struct IndexStatsPart {
  std::string name;  // its key in the answer ("wardrobe")
  std::function<Result<nlohmann::ordered_json>(const Identity&, const WorkContext&)> stats;
};
class IndexStatsRegistry {
 public:
  void add(IndexStatsPart part) { parts_.push_back(std::move(part)); }
  const std::vector<IndexStatsPart>& parts() const { return parts_; }

 private:
  std::vector<IndexStatsPart> parts_;
};

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
  IndexStatsRegistry index_stats{};              // filled by modules at start
  // The wide pool of work that mostly waits (Exec::inference_pool); work
  // started outside a request (WebSocket turns) is submitted to it.
  WorkerPool* inference_pool = nullptr;
  // Work that waits on hosted engines and streaming clients (chat turns).
  WorkerPool* outbound_pool = nullptr;
  // Seals and opens every paged list's cursors (http/paging.h).
  const PageCursors* cursors = nullptr;
};

// The decoding limits every image route uses: the configured pixel limit, the
// shared decode budget (waited for until the request's deadline), and the
// longest side to keep.
image::Limits image_limits(const ApiDeps& d, int max_side, const WorkContext& work);

}  // namespace atelier::api
