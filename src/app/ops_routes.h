// Platform routes: health probes, metrics, version, OpenAPI and Swagger UI.
#pragma once

#include <memory>
#include <string>

#include "http/route_deps.h"
#include "http/router.h"

namespace atelier::api {

void add_ops_routes(http::Router& router, ApiDeps& deps);
// `openapi` is filled once every route is registered.
void add_docs_routes(http::Router& router, ApiDeps& deps,
                     std::shared_ptr<const std::string> openapi);

}  // namespace atelier::api
