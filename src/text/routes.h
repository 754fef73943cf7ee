// Text analysis routes.
#pragma once

#include "http/route_deps.h"
#include "http/router.h"
#include "text/analyzer.h"

namespace atelier::api {

void add_text_routes(http::Router& router, ApiDeps& deps, const text::Analyzer& analyzer);

}  // namespace atelier::api
