// Image embedding models by name: MobileNetV2 from the vision capability,
// CLIP image towers from the native encoders. Models that failed to load keep
// their reason, so a route can say why.
#pragma once

#include <map>
#include <string>

#include "core/status.h"
#include "engines/vision.h"

namespace atelier::embed {

struct ImageModels {
  std::map<std::string, engines::ImageEncoder*> encoders;
  std::map<std::string, std::string> unavailable;
  // not_found for an unknown name, unavailable (with the reason) for one that did not load.
  Result<engines::ImageEncoder*> get(const std::string& model) const;
};

}  // namespace atelier::embed
