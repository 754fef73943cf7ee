// Search collections: text and image collections, ingest, search, stats.
#pragma once

#include "embed/routes.h"
#include "http/route_deps.h"
#include "http/router.h"
#include "platform/user_data.h"
#include "search/service.h"

namespace atelier::api {

void add_search_routes(http::Router& router, ApiDeps& deps, search::SearchService& svc);
// Shared by the text and image collection routes.
Result<MetadataFilter> parse_metadata_filter(const std::string& filter);  // "key:value"
// "key:value"
search::Caller caller_of(const Identity& id);
http::Response ingest_response(const std::string& collection, const UpsertCounts& counts);
// Image collections: items are embedded by the collection's image model and
// searched by an image (and, for CLIP collections, by text through the
// ordinary search route, since CLIP's text tower shares the space).
void add_image_collection_routes(http::Router& router, ApiDeps& deps, search::SearchService& svc);
// The parts of a user's data that search and design hold.
UserDataPart search_user_data(search::SearchService& svc, CollectionRepository& store);

}  // namespace atelier::api
