// Vision routes: detect, analyze, OCR, captions, VQA.
#pragma once

#include "http/route_deps.h"
#include "http/router.h"
#include "vision/service.h"

namespace atelier::api {

void add_vision_routes(http::Router& router, ApiDeps& deps, vision::VisionService& svc);

}  // namespace atelier::api
