// Wardrobe routes: items (upload, list, read, correct, delete, photo, similar;
// routes.cpp), outfits and feedback (outfit_routes.cpp).
#pragma once

#include "http/route_deps.h"
#include "http/router.h"
#include "platform/user_data.h"
#include "wardrobe/outfits.h"
#include "wardrobe/service.h"

namespace atelier::api {

// Items.
void add_wardrobe_routes(http::Router& router, ApiDeps& deps, wardrobe::WardrobeService& svc);
// The caller's wardrobe vectors and style space in GET /v1/index/stats; style
// space metrics.
void add_wardrobe_index_stats(ApiDeps& deps, wardrobe::WardrobeService& svc,
                              wardrobe::OutfitService& outfits);
// Outfits: evaluate, recommend and fill.
void add_outfit_routes(http::Router& router, ApiDeps& deps, wardrobe::OutfitService& svc);
// Feedback and what was learned from it.
void add_feedback_routes(http::Router& router, wardrobe::OutfitService& svc);
UserDataPart wardrobe_user_data(wardrobe::WardrobeService& svc, wardrobe::OutfitService& outfits);

}  // namespace atelier::api
