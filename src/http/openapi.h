// The OpenAPI 3.1 document, generated from the router's RouteSpecs: a route
// cannot exist without appearing in it.
#pragma once

#include <nlohmann/json.hpp>

#include "http/router.h"

namespace atelier::http {

nlohmann::json build_openapi(const Router& router, const std::string& version);

}  // namespace atelier::http
