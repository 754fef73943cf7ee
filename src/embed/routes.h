// Text and image embedding routes (OpenAI-shaped).
#pragma once

#include <map>
#include <string>
#include "engines/embedder.h"
#include "engines/image_models.h"
#include "http/route_deps.h"
#include "http/router.h"

namespace atelier::api {

using engines::ImageModels;
// `unavailable_reason`: why the default model is missing ("" when loaded).
void add_embedding_routes(http::Router& router, ApiDeps& deps,
                          const engines::EmbedderRegistry& embedders,
                          const std::string& unavailable_reason);
// `images` must outlive the router.
void add_image_embedding_routes(http::Router& router, ApiDeps& deps,
                                const engines::ImageModels& images);

}  // namespace atelier::api
