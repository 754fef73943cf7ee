// Visual analysis: detections mapped to atelier's taxonomy, garment and
// furniture types, colour palettes, OCR, captions and grounded answers. It
// orchestrates the engines (engines/vision.h) and caches whole results by
// content hash + model versions + options.
//
// Thread safety: all methods may be called concurrently; engines batch
// concurrent calls themselves.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cache/cache.h"
#include "engines/vision.h"
#include "image/image.h"
#include "vision/colors.h"
#include "vision/taxonomy.h"

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

struct ImageInfo {
  int width = 0, height = 0;  // as sent, before any downscale for the engines
  std::string format;         // "jpeg", "png", ...
  std::string sha256;         // of the bytes sent
};

// A detected thing in atelier's taxonomy; its box in the caller's pixels.
struct DetectedObject {
  std::string type;       // atelier's display name ("tv", "couch")
  std::string category;   // atelier's category ("electronics", "furniture", "person")
  std::string raw_class;  // the detector's own class name
  int class_id = 0;
  double score = 0;
  engines::Box box;
  std::vector<PaletteColor> colors;             // when colours were asked
  std::optional<std::vector<TypeScore>> types;  // when the box was classified
};

// A caption or an answer, and the engine that wrote it.
struct Described {
  engines::Description description;
  std::string engine;
};

// What one call found. Which parts are set depends on the call (detect sets
// detections; ocr sets ocr; analyze what its options ask). Boxes are in the
// caller's pixels; numbers are unrounded (routes round for the wire).
struct Analysis {
  ImageInfo image;
  std::optional<std::vector<TypeScore>> types;  // whole image, best first
  std::optional<std::vector<PaletteColor>> colors;
  std::optional<std::vector<DetectedObject>> detections;
  std::optional<engines::OcrResult> ocr;
  std::optional<Described> caption;
  std::optional<Described> answer;  // vqa; `question` is what was asked
  std::string question;
  std::vector<std::pair<std::string, std::string>> models;  // role ("detector") -> model
  std::vector<std::pair<std::string, double>> timings_ms;   // phase -> milliseconds
  bool cached = false;                                      // served from the result cache
};

class VisionService {
 public:
  VisionService(Engines engines, cache::Cache* cache) : e_(std::move(engines)), cache_(cache) {}

  Result<Analysis> analyze(const image::Image& img, const AnalyzeOptions& opt,
                           const WorkContext& work);
  // Detections only.
  Result<Analysis> detect(const image::Image& img, float min_score, const WorkContext& work);
  // OCR only, Tesseract page segmentation mode `psm`.
  Result<Analysis> ocr(const image::Image& img, int psm, const WorkContext& work);
  // A caption written from everything the local engines see.
  Result<Analysis> caption(const image::Image& img, const WorkContext& work);
  Result<Analysis> vqa(const image::Image& img, const std::string& question,
                       const WorkContext& work);

  const Engines& engines() const { return e_; }
  // Questions about whether a person's outfit goes together are answered
  // with `judge` (the wardrobe's evaluate). Set before the server starts.
  void set_outfit_judge(engines::OutfitJudge judge) { judge_ = std::move(judge); }

 private:
  struct Scene;
  Result<Scene> build_scene(const image::Image& img, const AnalyzeOptions& opt,
                            const WorkContext& work);
  Status need(const void* engine, const std::string& capability) const;
  std::string cache_key(const std::string& op, const std::string& options,
                        const image::Image& img) const;
  // The cached result under `key`, or compute() stored there.
  template <class F>
  Result<Analysis> cached(const std::string& key, F&& compute);

  Engines e_;
  cache::Cache* cache_;         // may be null
  engines::OutfitJudge judge_;  // may be empty
};

// The pieces of the most prominent person's outfit in a scene: the torso as a
// top and the legs as a bottom (or one dress when the classifier is sure of
// a dress type), and a handbag, backpack or tie on them. Empty when no person
// is large enough or fewer than two pieces are found.
std::vector<engines::OutfitPiece> outfit_pieces(const engines::SceneFacts& facts);

}  // namespace atelier::vision
