// The vision engine seams. Each capability (detection, image features, OCR,
// caption/VQA) is one small interface; local engines (models on this
// machine) and hosted engines (remote APIs) implement them, and the
// composition root picks one per capability from configuration.
//
// Engines see decoded images and a WorkContext; they never see HTTP or
// storage. Coordinates are pixels of the image handed in.
//
// Thread safety: every method may be called concurrently.
#pragma once

#include <opencv2/core.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"

namespace atelier::engines {

struct Box {
  float x = 0, y = 0, w = 0, h = 0;  // top-left corner and size, pixels
};

struct Detection {
  Box box;
  int class_id = 0;   // the model's own class index
  std::string label;  // the model's own class name
  float score = 0;
};

class Detector {
 public:
  virtual ~Detector() = default;
  virtual const std::string& model() const = 0;
  // Detections with score >= min_score after non-maximum suppression, best first.
  virtual Result<std::vector<Detection>> detect(const cv::Mat& bgr, float min_score,
                                                const WorkContext& work) = 0;
};

struct ImageFeatures {
  std::vector<float> embedding;  // L2-normalised
  std::vector<float> probs;      // class probabilities (softmax), index = label index
};

// An image tower that yields an embedding and class probabilities in one pass.
class ImageEncoder {
 public:
  virtual ~ImageEncoder() = default;
  virtual const std::string& model() const = 0;
  virtual int dimensions() const = 0;
  virtual const std::vector<std::string>& labels() const = 0;
  // One result per image, in order; the images of one call share batches.
  virtual Result<std::vector<ImageFeatures>> encode(const std::vector<cv::Mat>& bgr,
                                                    const WorkContext& work) = 0;
};

struct OcrWord {
  std::string text;
  Box box;
  float confidence = 0;  // 0..1
};
struct OcrLine {
  std::string text;
  Box box;
  float confidence = 0;
  std::vector<OcrWord> words;
};
struct OcrResult {
  std::string text;
  std::vector<OcrLine> lines;
  float confidence = 0;  // mean word confidence
};

class OcrEngine {
 public:
  virtual ~OcrEngine() = default;
  virtual const std::string& model() const = 0;
  // psm: Tesseract page segmentation mode (3 = automatic, 6 = block, 7 = line, 11 = sparse).
  virtual Result<OcrResult> read(const cv::Mat& bgr, int psm, const WorkContext& work) = 0;
};

// What the other engines found in an image: the evidence a grounded
// describer may use, and the context a hosted one may be given.
struct SceneObject {
  std::string name;    // "person", "handbag", "chair", ...
  std::string type;    // finer garment/furniture type ("jeans", "sofa"), "" when unknown
  std::string colour;  // dominant colour name, "" when unknown
  Box box;
  float score = 0;
  float type_score = 0;  // the classifier's confidence in `type`
};
// A piece of what a person in a photo wears: where it is and what it is
// (a wardrobe category: "top", "bottom", "dress", "bag", "accessory").
struct OutfitPiece {
  Box box;
  std::string category;
};
// How well the pieces go together: the wardrobe capability's evaluate.
struct OutfitJudgement {
  double score = 0;     // 0..1, higher goes better together
  std::string verdict;  // "goes well together", "works", "clashes"
  std::vector<std::string> explanation;
};
// Judges the pieces of an outfit in a photo (set by the wardrobe capability).
using OutfitJudge = std::function<Result<OutfitJudgement>(
    const cv::Mat& bgr, const std::vector<OutfitPiece>& pieces, const WorkContext& work)>;

struct SceneFacts {
  int width = 0, height = 0;
  std::vector<SceneObject> objects;
  std::vector<std::string> image_types;  // whole-image garment/furniture types, best first
  std::vector<std::string> palette;      // whole-image dominant colour names, largest first
  std::string text;                      // OCR text, "" when none or not run
  // Set only when the question asks whether the outfit goes together and a
  // person's outfit could be judged (asks_about_outfit()).
  std::optional<OutfitJudgement> outfit;
  std::vector<OutfitPiece> outfit_pieces;  // what was judged
};

// "Does this outfit go together?", "do the colours match?", "does her look
// work?": the questions the wardrobe's evaluate answers.
bool asks_about_outfit(const std::string& question);

struct Description {
  std::string text;
  float confidence = 0;               // 0..1
  std::vector<std::string> evidence;  // the facts the answer rests on
};

// Captions and answers questions about an image.
class SceneDescriber {
 public:
  virtual ~SceneDescriber() = default;
  virtual const std::string& model() const = 0;
  // `jpeg` is the image re-encoded for engines that send it elsewhere.
  virtual Result<Description> caption(const SceneFacts& facts, const std::string& jpeg,
                                      const WorkContext& work) = 0;
  virtual Result<Description> answer(const std::string& question, const SceneFacts& facts,
                                     const std::string& jpeg, const WorkContext& work) = 0;
};

}  // namespace atelier::engines
