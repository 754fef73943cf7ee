// Visual analysis: detections mapped to atelier's taxonomy, garment and
// furniture types, colour palettes, OCR, captions and grounded answers. It
// orchestrates the engines (engines/vision.h) and caches whole results by
// content hash + model versions + options.
//
// Thread safety: all methods may be called concurrently; engines batch
// concurrent calls themselves.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>

#include "cache/cache.h"
#include "engines/vision.h"
#include "image/image.h"

namespace atelier::vision {

struct Engines {
  engines::Detector* detector = nullptr;  // null: not loaded
  engines::ImageEncoder* encoder = nullptr;
  engines::OcrEngine* ocr = nullptr;
  engines::SceneDescriber* describer = nullptr;
  // Why an engine is missing, by capability ("detector", "encoder", "ocr",
  // "describer"), for a clear 503.
  std::map<std::string, std::string> missing;
};

struct AnalyzeOptions {
  bool detect = true;
  bool classify = true;  // whole image and each detected box
  bool colors = true;
  bool ocr = false;
  bool caption = false;
  float min_score = 0.3f;
  int max_colors = 5;
  int psm = 3;
  std::size_t max_box_classify = 8;
};

class VisionService {
 public:
  VisionService(Engines engines, cache::Cache* cache) : e_(std::move(engines)), cache_(cache) {}

  Result<nlohmann::ordered_json> analyze(const image::Image& img, const AnalyzeOptions& opt,
                                         const WorkContext& work);
  Result<nlohmann::ordered_json> detect(const image::Image& img, float min_score,
                                        const WorkContext& work);
  Result<nlohmann::ordered_json> ocr(const image::Image& img, int psm, const WorkContext& work);
  Result<nlohmann::ordered_json> caption(const image::Image& img, const WorkContext& work);
  Result<nlohmann::ordered_json> vqa(const image::Image& img, const std::string& question,
                                     const WorkContext& work);

  const Engines& engines() const { return e_; }

 private:
  struct Scene;
  Result<Scene> build_scene(const image::Image& img, const AnalyzeOptions& opt,
                            const WorkContext& work);
  Status need(const void* engine, const std::string& capability) const;
  std::string cache_key(const std::string& op, const std::string& options,
                        const image::Image& img) const;
  template <class F>
  Result<nlohmann::ordered_json> cached(const std::string& key, F&& compute);

  Engines e_;
  cache::Cache* cache_;  // may be null
};

}  // namespace atelier::vision
