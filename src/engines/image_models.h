// Image embedding models by name: MobileNetV2 from the vision capability,
// CLIP image towers from the native encoders. Models that failed to load keep
// their reason, so a route can say why. Encodings are cached by model, size
// and content hash (shared by replicas when the cache is).
#pragma once

#include <map>
#include <string>

#include "cache/cache.h"
#include "core/status.h"
#include "engines/vision.h"

namespace atelier::engines {

struct ImageModels {
  std::map<std::string, engines::ImageEncoder*> encoders;
  std::map<std::string, std::string> unavailable;
  cache::Cache* cache = nullptr;  // may be null: every image is encoded
  // not_found for an unknown name, unavailable (with the reason) for one that did not load.
  Result<engines::ImageEncoder*> get(const std::string& model) const;

  // An image to encode: its pixels and the SHA-256 of the bytes they came from.
  struct Input {
    const cv::Mat* bgr = nullptr;
    std::string sha256_hex;
  };
  // One result per input, in order: cached ones from the cache, the rest
  // encoded in one call (so they share batches) and then cached.
  Result<std::vector<engines::ImageFeatures>> encode(engines::ImageEncoder& encoder,
                                                     const std::vector<Input>& in,
                                                     const WorkContext& work) const;
};

}  // namespace atelier::engines
