#include "embed/image_models.h"

namespace atelier::embed {

Result<engines::ImageEncoder*> ImageModels::get(const std::string& model) const {
  if (auto it = encoders.find(model); it != encoders.end() && it->second) return it->second;
  if (auto it = unavailable.find(model); it != unavailable.end())
    return Status::unavailable("image model '" + model + "' is not loaded: " + it->second);
  std::string names;
  for (auto& [k, v] : encoders) names += (names.empty() ? "" : ", ") + k;
  return Status::not_found("no image embedding model '" + model +
                           "'; available: " + (names.empty() ? "none" : names));
}

}  // namespace atelier::embed
