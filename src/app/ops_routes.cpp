// /health, /health/live, /health/ready, /health/detailed, /metrics,
// /openapi.json and /docs (Swagger UI served from swagger-ui-dist, no CDN).
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <utility>

#include "app/ops_routes.h"
#include "http/problem.h"

namespace atelier::api {

using http::Access;
using http::Method;
using http::RequestContext;
using http::Response;
using http::RouteSpec;

namespace {

double uptime_s(const ApiDeps& d) {
  return std::chrono::duration<double>(SteadyClock::now() - d.started).count();
}

const nlohmann::json kHealthSchema = {{"type", "object"},
                                      {"properties",
                                       {{"status", {{"type", "string"}}},
                                        {"version", {{"type", "string"}}},
                                        {"uptime_s", {{"type", "number"}}}}}};

}  // namespace

namespace {

// The handlers of add_ops_routes(), named after their routes' operation ids,
// over what they need.
struct OpsHandlers {
  ApiDeps& d;

  Result<Response> handle_health(const RequestContext&) const;
  Result<Response> handle_health_live(const RequestContext&) const;
  Result<Response> handle_health_ready(const RequestContext& ctx) const;
  Result<Response> handle_health_detailed(const RequestContext&) const;
  Result<Response> handle_metrics(const RequestContext&) const;
};

Result<Response> OpsHandlers::handle_health(const RequestContext&) const {
  return Response::text(
      200,
      fmt::format(R"({{"status":"ok","version":"{}","uptime_s":{:.3f}}})", d.version, uptime_s(d)),
      "application/json");
}

Result<Response> OpsHandlers::handle_health_live(const RequestContext&) const {
  return Response::json(200, {{"status", "alive"}});
}

// What an open probe may show of a component: up or down, and whether
// readiness needs it. Its details (the database's user and host, model
// paths, errors) are for /health/detailed, which production keeps to admins.
nlohmann::json component_states(const nlohmann::json& components) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& [name, c] : components.items())
    out[name] = {{"status", c.value("status", "down")}, {"required", c.value("required", false)}};
  return out;
}

Result<Response> OpsHandlers::handle_health_ready(const RequestContext& ctx) const {
  auto report = d.health.check();
  report.components = component_states(report.components);
  if (d.draining()) {
    report.ready = false;
    report.failing.insert(report.failing.begin(), "server (draining)");
  }
  if (!report.ready) {
    std::string names;
    for (auto& f : report.failing) names += (names.empty() ? "" : ", ") + f;
    Response resp = http::problem(503, "not ready: " + names, ctx.request_id,
                                  {{"components", report.components}, {"failing", report.failing}});
    resp.set_header("Retry-After", "1");
    return resp;
  }
  return Response::json(200, {{"status", "ready"}, {"components", report.components}});
}

Result<Response> OpsHandlers::handle_health_detailed(const RequestContext&) const {
  auto report = d.health.check();
  auto ps = d.pool.stats();
  nlohmann::json j = {
      {"status", report.ready && !d.draining() ? "ready" : "not_ready"},
      {"version", d.version},
      {"uptime_s", uptime_s(d)},
      {"draining", d.draining()},
      {"profile", d.config.env},
      {"components", report.components},
      {"work_pool",
       {{"threads", ps.threads},
        {"queue_capacity", ps.capacity},
        {"queued", ps.queued},
        {"active", ps.active},
        {"completed", ps.completed},
        {"rejected", ps.rejected},
        {"skipped_cancelled", ps.skipped_cancelled},
        {"skipped_expired", ps.skipped_expired},
        {"overran", ps.overran}}},
  };
  return Response::json(200, j);
}

Result<Response> OpsHandlers::handle_metrics(const RequestContext&) const {
  return Response::text(200, d.metrics.serialize(), "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace

void add_ops_routes(http::Router& router, ApiDeps& d) {
  const auto h = std::make_shared<const OpsHandlers>(OpsHandlers{d});
  router.add({
      .method = Method::get,
      .path = "/health",
      .operation_id = "health",
      .summary = "Liveness with version and uptime; cheap",
      .tag = "operations",
      .access = Access::open,
      .rate_limited = false,
      .response_schema = kHealthSchema,
      .quiet_access_log = true,
      // The cheapest probe there is: formatted directly, no JSON tree.
      .handler = http::bind_handler(h, &OpsHandlers::handle_health),
  });
  router.add({
      .method = Method::get,
      .path = "/health/live",
      .operation_id = "health_live",
      .summary = "Process is alive",
      .tag = "operations",
      .access = Access::open,
      .rate_limited = false,
      .response_example = {{"status", "alive"}},
      .quiet_access_log = true,
      .handler = http::bind_handler(h, &OpsHandlers::handle_health_live),
  });
  router.add({
      .method = Method::get,
      .path = "/health/ready",
      .operation_id = "health_ready",
      .summary =
          "Ready to serve: database answers, required models loaded, work queue not saturated",
      .tag = "operations",
      .access = Access::open,
      .rate_limited = false,
      // Each component's state only (details: /health/detailed); a 503 has the same shape.
      .response_example = nlohmann::json::parse(
          R"({"components": {"database": {"required": true, "status": "up"},
          "model:yolox-nano": {"required": true, "status": "up"}}, "status": "ready"})"),
      .response_maps = {"components"},
      .errors = {503},
      .quiet_access_log = true,
      .handler = http::bind_handler(h, &OpsHandlers::handle_health_ready),
  });
  router.add({
      .method = Method::get,
      .path = "/health/detailed",
      .operation_id = "health_detailed",
      .summary = "Components, versions, pool, cache and queue figures",
      .tag = "operations",
      .access = d.config.detailed_health_admin_only ? Access::admin : Access::open,
      .rate_limited = false,
      // Each component's details are its own (a database's backend, a model's path).
      .response_example = nlohmann::json::parse(R"({"status": "ready", "version": "0.1.0",
        "uptime_s": 41.2, "draining": false, "profile": "development",
        "components": {"database": {"status": "up", "required": true, "backend": "sqlite"}},
        "work_pool": {"threads": 2, "queue_capacity": 256, "queued": 0, "active": 1,
        "completed": 57, "rejected": 0, "skipped_cancelled": 0, "skipped_expired": 0,
        "overran": 0}})"),
      .response_maps = {"components"},
      .quiet_access_log = true,
      .handler = http::bind_handler(h, &OpsHandlers::handle_health_detailed),
  });
  if (d.config.metrics_enabled) {
    router.add({
        .method = Method::get,
        .path = "/metrics",
        .operation_id = "metrics",
        .summary = "Prometheus metrics (text exposition format)",
        .tag = "operations",
        .access = Access::open,
        .rate_limited = false,
        .response_schema = {{"type", "string"}},
        .response_content_type = "text/plain",
        .quiet_access_log = true,
        .handler = http::bind_handler(h, &OpsHandlers::handle_metrics),
    });
  }
}

namespace {

// The handlers of add_docs_routes(), named after their routes' operation ids,
// over what they need.
struct DocsHandlers {
  const std::shared_ptr<const std::string> openapi;
  const std::string missing;
  const std::shared_ptr<std::map<std::string, std::pair<std::string, std::string>>> files;

  Result<Response> handle_openapi(const RequestContext&) const;
  Result<Response> handle_docs(const RequestContext& ctx) const;
  Result<Response> handle_docs_asset(const RequestContext& ctx) const;
};

Result<Response> DocsHandlers::handle_openapi(const RequestContext&) const {
  Response resp = Response::text(200, *openapi, "application/json");
  return resp;
}

Result<Response> DocsHandlers::handle_docs(const RequestContext& ctx) const {
  if (!missing.empty()) return Status::unavailable(missing);
  static const char* kPage = R"HTML(<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>atelier API</title>
<link rel="stylesheet" href="/docs/swagger-ui.css"><link rel="icon" href="/docs/favicon-32x32.png"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/swagger-ui-standalone-preset.js"></script>
<script>window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui",
presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: "StandaloneLayout"});</script>
</body></html>)HTML";
  (void)ctx;
  return Response::text(200, kPage, "text/html; charset=utf-8");
}

Result<Response> DocsHandlers::handle_docs_asset(const RequestContext& ctx) const {
  auto it = files->find(ctx.req.path_params.at("file"));
  if (it == files->end()) return Status::not_found("no such documentation asset");
  Response resp = Response::text(200, it->second.first, it->second.second);
  resp.set_header("Cache-Control", "public, max-age=86400");
  return resp;
}

}  // namespace

void add_docs_routes(http::Router& router, ApiDeps& d, std::shared_ptr<const std::string> openapi) {
  // Swagger UI assets are read once at start; a missing folder leaves /docs
  // answering 503 with the reason rather than a broken page.
  auto files = std::make_shared<std::map<std::string, std::pair<std::string, std::string>>>();
  std::string missing;
  if (d.docs_dir.empty()) {
    missing =
        "swagger-ui-dist is not installed (run scripts/install-deps.sh or set ATELIER_DOCS_DIR)";
  } else {
    const std::pair<const char*, const char*> wanted[] = {
        {"swagger-ui.css", "text/css; charset=utf-8"},
        {"swagger-ui-bundle.js", "application/javascript; charset=utf-8"},
        {"swagger-ui-standalone-preset.js", "application/javascript; charset=utf-8"},
        {"favicon-32x32.png", "image/png"},
        {"favicon-16x16.png", "image/png"}};
    for (auto [name, type] : wanted) {
      std::ifstream in(std::filesystem::path(d.docs_dir) / name, std::ios::binary);
      if (!in) {
        missing = std::string("cannot read ") + name + " in " + d.docs_dir;
        continue;
      }
      std::ostringstream ss;
      ss << in.rdbuf();
      (*files)[name] = {ss.str(), type};
    }
  }
  const auto h =
      std::make_shared<const DocsHandlers>(DocsHandlers{std::move(openapi), missing, files});
  router.add({
      .method = Method::get,
      .path = "/openapi.json",
      .operation_id = "openapi",
      .summary = "This OpenAPI 3.1 document",
      .tag = "operations",
      .access = Access::open,
      .rate_limited = false,
      // An OpenAPI 3.1 document: its required fields, and what a generator reads.
      .response_schema = nlohmann::json::parse(R"({"type": "object",
        "required": ["openapi", "info", "paths"],
        "properties": {"openapi": {"type": "string", "pattern": "^3\\.1\\."},
          "info": {"type": "object", "required": ["title", "version"],
            "properties": {"title": {"type": "string"}, "version": {"type": "string"}}},
          "servers": {"type": "array", "items": {"type": "object", "required": ["url"],
            "properties": {"url": {"type": "string"}}}},
          "tags": {"type": "array", "items": {"type": "object", "required": ["name"],
            "properties": {"name": {"type": "string"}, "description": {"type": "string"}}}},
          "paths": {"type": "object", "additionalProperties": {"type": "object"}},
          "components": {"type": "object"}}})"),
      .quiet_access_log = true,
      .handler = http::bind_handler(h, &DocsHandlers::handle_openapi),
  });

  router.add({
      .method = Method::get,
      .path = "/docs",
      .operation_id = "docs",
      .summary = "Swagger UI for this API",
      .tag = "operations",
      .access = Access::open,
      .rate_limited = false,
      .response_schema = {{"type", "string"}},
      .response_content_type = "text/html",
      .errors = {503},
      .quiet_access_log = true,
      .handler = http::bind_handler(h, &DocsHandlers::handle_docs),
  });
  router.add({
      .method = Method::get,
      .path = "/docs/{file}",
      .operation_id = "docs_asset",
      .summary = "Swagger UI assets",
      .tag = "operations",
      .access = Access::open,
      .rate_limited = false,
      .response_schema = {{"type", "string"}},
      .response_content_type = "application/octet-stream",
      .errors = {404},
      .quiet_access_log = true,
      .handler = http::bind_handler(h, &DocsHandlers::handle_docs_asset),
  });
}

}  // namespace atelier::api
