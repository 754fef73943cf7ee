// atelier's fashion and furniture taxonomy, and how the models' own classes
// map onto it: COCO-80 (the detector) and ImageNet-1001 (the classifier).
// The raw class is always kept beside the mapped one.
//
// Thread safety: immutable after construction.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace atelier::vision {

struct TaxonEntry {
  std::string category;  // person, top, bottom, dress, outerwear, footwear, bag, accessory,
                         // swimwear, sleepwear, underwear, furniture, lighting, textile,
                         // decor, plant, electronics, appliance, fixture, other
  std::string type;      // "jeans", "sofa", ...; for COCO the display name
};

// COCO class name (either spelling: "sofa" / "couch", "tvmonitor" / "tv") to
// atelier's display name and category.
TaxonEntry coco_taxon(std::string_view coco_name);

// ImageNet label (the labels file's line, e.g. "jean, blue jean, denim") to a
// garment/furniture type; empty category when the class is not one.
TaxonEntry imagenet_taxon(std::string_view imagenet_label);

struct TypeScore {
  std::string type;
  std::string category;
  std::string imagenet;  // the raw class's first name
  double score = 0;
};

// Types from class probabilities: the mapped classes whose probability is at
// least min_score, summed per type, best first, at most `top`.
std::vector<TypeScore> types_from_probs(const std::vector<float>& probs,
                                        const std::vector<std::string>& labels, double min_score,
                                        std::size_t top);

}  // namespace atelier::vision
