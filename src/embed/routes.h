// Text and image embedding routes (OpenAI-shaped).
#pragma once

#include <map>
#include <string>
#include "embed/embedder.h"
#include "embed/image_models.h"
#include "http/route_deps.h"
#include "http/router.h"

namespace atelier::api {

using embed::ImageModels;
// `unavailable_reason`: why the default model is missing ("" when loaded).
void add_embedding_routes(http::Router& router, ApiDeps& deps,
                          const embed::EmbedderRegistry& embedders,
                          const std::string& unavailable_reason);
// `images` must outlive the router.
void add_image_embedding_routes(http::Router& router, ApiDeps& deps, const ImageModels& images);

}  // namespace atelier::api
