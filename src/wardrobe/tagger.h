// Auto-tagging of a wardrobe item's photo: where the item is (a product shot's
// plain background is found and left out), its category and type, its colour
// palette, pattern, formality, warmth and seasons, and its image embedding.
//
// Category: a softmax layer over the item's MobileNetV2 embedding (the 1,280
// pooled features; CategoryProbe, fitted by bench/wardrobe/fit_tagger on the
// items of the fitting side of the MANGO outfits fixture's item-disjoint
// split, bench/wardrobe/split.h; the fixture is never shipped). With an
// embedding of another size, the encoder's ImageNet probabilities summed per category
// (ImageNet names garments, shoes, bags and jewellery parts) and the item's
// shape (aspect, fill, size in the frame) through a 7 x 11 layer
// (TaggerWeights). The type from TypeProbe or ImageNet's names (see there);
// formality, warmth and season follow from it; absent when there is none.
//
// Thread safety: tag() may be called concurrently (the encoder batches).
#pragma once

#include <opencv2/core.hpp>

#include <array>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"
#include "engines/vision.h"
#include "image/image.h"
#include "wardrobe/item.h"

namespace atelier::wardrobe {

// Per item: log of each category's ImageNet mass, then log aspect (height /
// width of the item), fill (item pixels / its box), log size (box / frame)
// and whether the background is plain.
inline constexpr int kFeatureCount = kCategoryCount + 4;

struct TaggerWeights {
  std::array<double, kCategoryCount> bias{};
  std::array<std::array<double, kFeatureCount>, kCategoryCount> w{};
  // The fitted defaults (see the header comment).
  static TaggerWeights defaults();
  // Each category's own ImageNet mass alone (the starting point of a fit).
  static TaggerWeights identity();
};

// A softmax layer over the encoder's embedding that gives the category.
inline constexpr int kProbeDim = 1280;  // MobileNetV2's pooled features
struct CategoryProbe {
  std::array<float, kCategoryCount> bias{};
  std::array<std::array<float, kProbeDim>, kCategoryCount> w{};
  // The fitted layer (category_probe.cpp, written by bench_fit_tagger).
  static const CategoryProbe& fitted();
  // Each category's probability for an L2-normalised embedding.
  std::array<double, kCategoryCount> probabilities(const std::vector<float>& embedding) const;
};

// A softmax layer over the encoder's embedding that names the type (the
// product types of the MANGO fixture that atelier knows, fitted as the
// category probe is). A type is given when its probability reaches
// kTypeThreshold and it belongs to the item's category; else ImageNet's name
// when its mass reaches kImageNetTypeThreshold (types the probe does not
// know: hoodie, loafers, backpack, ...); else none.
struct TypeProbe {
  std::vector<std::string> types;
  std::vector<float> bias;            // per type
  std::vector<std::vector<float>> w;  // per type, kProbeDim each
  // The fitted layer (type_probe.cpp, written by bench_fit_tagger).
  static const TypeProbe& fitted();
  // Each type's probability for an L2-normalised embedding.
  std::vector<double> probabilities(const std::vector<float>& embedding) const;
};
// Measured on the never-seen side of the split (bench_fit_tagger): the
// probe's type at >= 0.5 is right about 0.8 of the time, ImageNet's name at
// >= 0.6 too.
inline constexpr double kTypeThreshold = 0.5;
inline constexpr double kImageNetTypeThreshold = 0.6;

// Where the item is in the photo.
struct Foreground {
  cv::Mat mask;  // 8-bit, the photo's size; 255 on the item
  cv::Rect box;  // the item's bounding box
  bool plain_background = false;
};

// A product shot's item against its plain background (the border's colour);
// for any other photo the whole frame.
Foreground find_foreground(const cv::Mat& bgr);

// The item cropped with a margin and padded square with the background colour,
// so the classifier sees all of it, as large as the frame allows.
cv::Mat square_crop(const cv::Mat& bgr, const Foreground& fg);

struct Tagged {
  AutoTags tags;
  std::vector<float> embedding;  // L2-normalised
  std::array<double, kFeatureCount> features{};
};

class Tagger {
 public:
  // `probe`: the category layer over embeddings (null: the ImageNet-mass
  // layer `weights` only; also when the encoder's embedding has another size).
  Tagger(engines::ImageEncoder* encoder, TaggerWeights weights,
         const CategoryProbe* probe = &CategoryProbe::fitted(),
         const TypeProbe* type_probe = &TypeProbe::fitted());
  // unavailable when the encoder is not loaded.
  Result<Tagged> tag(const cv::Mat& bgr, const WorkContext& work) const;
  const std::string& model() const;
  bool loaded() const { return encoder_ != nullptr; }

 private:
  engines::ImageEncoder* encoder_;  // null: not loaded
  TaggerWeights weights_;
  const CategoryProbe* probe_;
  const TypeProbe* type_probe_;
  // Per ImageNet label of the encoder: the wardrobe category it is evidence
  // for (-1: none) and the type it names.
  std::vector<int> class_category_;
  std::vector<std::string> class_type_;
};

// Formality, warmth and seasons a type implies, if it is one atelier knows
// ("t-shirt", "jeans", "sandals", ...); confidences are the traits' own.
struct TypeTraits {
  std::string formality;
  std::string warmth;
  std::vector<std::string> seasons;
};
const TypeTraits* type_traits(const std::string& type);

// The category a known type belongs to ("jeans" -> "bottom"), or "".
std::string category_of_type(const std::string& type);

// Pattern of the item's pixels (solid, striped, checked, dotted, printed),
// with a confidence; absent when too little of the item is visible.
std::optional<Scored> detect_pattern(const cv::Mat& bgr, const Foreground& fg);

}  // namespace atelier::wardrobe
