// Wires the vision engines from configuration: loads each local model (a
// missing file leaves the server up and the capability answering 503 with the
// reason), registers health probes and metrics, and builds the service.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "cache/cache.h"
#include "config/config.h"
#include "core/health.h"
#include "engines/local/mobilenet.h"
#include "engines/local/tesseract_ocr.h"
#include "engines/local/yolox.h"
#include "obs/metrics.h"
#include "vision/service.h"

namespace atelier::vision {

struct VisionStack {
  std::unique_ptr<engines::YoloxDetector> detector;
  std::unique_ptr<engines::MobileNetEncoder> encoder;
  std::unique_ptr<engines::TesseractOcr> ocr;
  std::unique_ptr<engines::SceneDescriber> describer;
  std::map<std::string, std::string> errors;  // model -> why it is not loaded
  std::string encoder_error;  // errors["mobilenet-v2"] or "", for the embeddings route
  std::unique_ptr<cache::Cache> cache;
  std::unique_ptr<vision::VisionService> service;
};

// `cache` holds the analyses (null: none).
std::unique_ptr<VisionStack> build_vision(const Config& c, Metrics& metrics, HealthRegistry& health,
                                          std::unique_ptr<cache::Cache> cache);

}  // namespace atelier::vision
