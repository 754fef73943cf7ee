// Interior design studio routes: rooms, design jobs, presets, spend.
#pragma once

#include "http/route_deps.h"
#include "http/router.h"
#include "platform/user_data.h"

namespace atelier::design {
class DesignService;
}

namespace atelier::api {

// Interior design studio: rooms, design jobs, presets, spend.
void add_design_routes(http::Router& router, ApiDeps& deps, design::DesignService& svc);
UserDataPart design_user_data(design::DesignService& svc);

}  // namespace atelier::api
