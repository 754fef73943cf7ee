// Text and image embedding routes (OpenAI-shaped).
#pragma once

#include <map>
#include <string>
#include "embed/embedder.h"
#include "engines/vision.h"
#include "http/route_deps.h"
#include "http/router.h"

namespace atelier::api {

// Image models by name (MobileNetV2 from the vision stack, CLIP image towers
// from the native encoders); models that failed to load keep their reason.
struct ImageModels {
  std::map<std::string, engines::ImageEncoder*> encoders;
  std::map<std::string, std::string> unavailable;
  // not_found for an unknown name, unavailable (with the reason) for one that did not load.
  Result<engines::ImageEncoder*> get(const std::string& model) const;
};
// `unavailable_reason`: why the default model is missing ("" when loaded).
void add_embedding_routes(http::Router& router, ApiDeps& deps,
                          const embed::EmbedderRegistry& embedders,
                          const std::string& unavailable_reason);
// `images` must outlive the router.
void add_image_embedding_routes(http::Router& router, ApiDeps& deps, const ImageModels& images);

}  // namespace atelier::api
