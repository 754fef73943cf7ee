// Finds and loads the Hugging Face model folders (BERT-family sentence
// encoders, CLIP) in the models path, registers their text towers as
// embedders and CLIP image towers as image encoders, with a health probe
// and batch metrics per model. A folder that fails to load leaves the server
// up; its probe says why.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/config.h"
#include "core/health.h"
#include "engines/embedder.h"
#include "engines/vision.h"
#include "obs/metrics.h"

namespace atelier::embed {

struct NativeModels {
  std::map<std::string, std::unique_ptr<engines::ImageEncoder>>
      image;                                  // CLIP image towers by model name
  std::map<std::string, std::string> errors;  // folder -> why it did not load
  std::vector<std::string> loaded;
};

// Model folders under the models path: directories (one or two levels deep,
// so "owner/name" works) holding config.json and model.safetensors.
std::map<std::string, std::string> find_hf_folders(const std::string& models_path);

std::unique_ptr<NativeModels> load_native_models(const Config& c,
                                                 engines::EmbedderRegistry& embedders,
                                                 Metrics& metrics, HealthRegistry& health);

}  // namespace atelier::embed
