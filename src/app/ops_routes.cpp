// /health, /health/live, /health/ready, /health/detailed, /metrics,
// /openapi.json and /docs (Swagger UI served from swagger-ui-dist, no CDN).
#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

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

RouteSpec open_get(std::string path, std::string op, std::string summary, std::string tag) {
  RouteSpec r;
  r.method = Method::get;
  r.path = std::move(path);
  r.operation_id = std::move(op);
  r.summary = std::move(summary);
  r.tag = std::move(tag);
  r.access = Access::open;
  r.rate_limited = false;
  r.quiet_access_log = true;
  return r;
}

}  // namespace

void add_ops_routes(http::Router& router, ApiDeps& d) {
  {
    auto r = open_get("/health", "health", "Liveness with version and uptime; cheap", "operations");
    r.response_schema = kHealthSchema;
    // The cheapest probe there is: formatted directly, no JSON tree.
    r.handler = [&d](const RequestContext&) -> Result<Response> {
      return Response::text(200,
                            fmt::format(R"({{"status":"ok","version":"{}","uptime_s":{:.3f}}})",
                                        d.version, uptime_s(d)),
                            "application/json");
    };
    router.add(std::move(r));
  }
  {
    auto r = open_get("/health/live", "health_live", "Process is alive", "operations");
    r.handler = [](const RequestContext&) -> Result<Response> {
      return Response::json(200, {{"status", "alive"}});
    };
    router.add(std::move(r));
  }
  {
    auto r = open_get(
        "/health/ready", "health_ready",
        "Ready to serve: database answers, required models loaded, work queue not saturated",
        "operations");
    r.errors = {503};
    r.handler = [&d](const RequestContext& ctx) -> Result<Response> {
      auto report = d.health.check();
      if (d.draining()) {
        report.ready = false;
        report.failing.insert(report.failing.begin(), "server (draining)");
      }
      if (!report.ready) {
        std::string names;
        for (auto& f : report.failing) names += (names.empty() ? "" : ", ") + f;
        Response resp =
            http::problem(503, "not ready: " + names, ctx.request_id,
                          {{"components", report.components}, {"failing", report.failing}});
        resp.set_header("Retry-After", "1");
        return resp;
      }
      return Response::json(200, {{"status", "ready"}, {"components", report.components}});
    };
    router.add(std::move(r));
  }
  {
    auto r = open_get("/health/detailed", "health_detailed",
                      "Components, versions, pool, cache and queue figures", "operations");
    if (d.config.detailed_health_admin_only) r.access = Access::admin;
    r.handler = [&d](const RequestContext&) -> Result<Response> {
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
    };
    router.add(std::move(r));
  }
  if (d.config.metrics_enabled) {
    auto r = open_get("/metrics", "metrics", "Prometheus metrics (text exposition format)",
                      "operations");
    r.response_content_type = "text/plain";
    r.response_schema = {{"type", "string"}};
    r.handler = [&d](const RequestContext&) -> Result<Response> {
      return Response::text(200, d.metrics.serialize(), "text/plain; version=0.0.4; charset=utf-8");
    };
    router.add(std::move(r));
  }
}

void add_docs_routes(http::Router& router, ApiDeps& d, std::shared_ptr<const std::string> openapi) {
  {
    auto r = open_get("/openapi.json", "openapi", "This OpenAPI 3.1 document", "operations");
    r.handler = [openapi](const RequestContext&) -> Result<Response> {
      Response resp = Response::text(200, *openapi, "application/json");
      return resp;
    };
    router.add(std::move(r));
  }

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
  {
    auto r = open_get("/docs", "docs", "Swagger UI for this API", "operations");
    r.response_content_type = "text/html";
    r.response_schema = {{"type", "string"}};
    r.errors = {503};
    r.handler = [missing](const RequestContext& ctx) -> Result<Response> {
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
    };
    router.add(std::move(r));
  }
  {
    auto r = open_get("/docs/{file}", "docs_asset", "Swagger UI assets", "operations");
    r.response_content_type = "application/octet-stream";
    r.response_schema = {{"type", "string"}};
    r.errors = {404};
    r.handler = [files](const RequestContext& ctx) -> Result<Response> {
      auto it = files->find(ctx.req.path_params.at("file"));
      if (it == files->end()) return Status::not_found("no such documentation asset");
      Response resp = Response::text(200, it->second.first, it->second.second);
      resp.set_header("Cache-Control", "public, max-age=86400");
      return resp;
    };
    router.add(std::move(r));
  }
}

}  // namespace atelier::api
