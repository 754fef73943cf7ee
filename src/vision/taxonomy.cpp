#include "vision/taxonomy.h"

#include <algorithm>
#include <map>
#include <unordered_map>

namespace atelier::vision {

namespace {

struct Row {
  const char* key;
  const char* category;
  const char* type;
};

// COCO-80, both the VOC-style spellings of the model's labels file and the
// COCO ones; classes not listed map to "other" under their own name.
constexpr Row kCoco[] = {
    {"person", "person", "person"},
    {"backpack", "bag", "backpack"},
    {"handbag", "bag", "handbag"},
    {"suitcase", "bag", "suitcase"},
    {"tie", "accessory", "tie"},
    {"umbrella", "accessory", "umbrella"},
    {"chair", "furniture", "chair"},
    {"sofa", "furniture", "couch"},
    {"couch", "furniture", "couch"},
    {"bed", "furniture", "bed"},
    {"diningtable", "furniture", "dining table"},
    {"dining table", "furniture", "dining table"},
    {"bench", "furniture", "bench"},
    {"pottedplant", "plant", "potted plant"},
    {"potted plant", "plant", "potted plant"},
    {"tvmonitor", "electronics", "tv"},
    {"tv", "electronics", "tv"},
    {"laptop", "electronics", "laptop"},
    {"cell phone", "electronics", "cell phone"},
    {"vase", "decor", "vase"},
    {"clock", "decor", "clock"},
    {"book", "decor", "book"},
    {"teddy bear", "decor", "teddy bear"},
    {"microwave", "appliance", "microwave"},
    {"oven", "appliance", "oven"},
    {"toaster", "appliance", "toaster"},
    {"refrigerator", "appliance", "refrigerator"},
    {"sink", "fixture", "sink"},
    {"toilet", "fixture", "toilet"},
    {"motorbike", "other", "motorcycle"},
    {"aeroplane", "other", "airplane"},
};

// ImageNet classes that name garments, shoes, bags, accessories and
// furnishings, keyed by the label's first name.
constexpr Row kImageNet[] = {
    {"jersey", "top", "t-shirt"},
    {"sweatshirt", "top", "sweatshirt"},
    {"cardigan", "top", "cardigan"},
    {"suit", "outerwear", "suit"},
    {"trench coat", "outerwear", "trench coat"},
    {"fur coat", "outerwear", "fur coat"},
    {"lab coat", "outerwear", "lab coat"},
    {"poncho", "outerwear", "poncho"},
    {"cloak", "outerwear", "cloak"},
    {"military uniform", "outerwear", "uniform"},
    {"kimono", "dress", "kimono"},
    {"abaya", "dress", "abaya"},
    {"gown", "dress", "gown"},
    {"jean", "bottom", "jeans"},
    {"miniskirt", "bottom", "miniskirt"},
    {"overskirt", "bottom", "skirt"},
    {"hoopskirt", "bottom", "skirt"},
    {"bikini", "swimwear", "bikini"},
    {"maillot", "swimwear", "swimsuit"},
    {"swimming trunks", "swimwear", "swim trunks"},
    {"brassiere", "underwear", "bra"},
    {"pajama", "sleepwear", "pajamas"},
    {"apron", "accessory", "apron"},
    {"stole", "accessory", "stole"},
    {"Windsor tie", "accessory", "tie"},
    {"bow tie", "accessory", "bow tie"},
    {"bolo tie", "accessory", "tie"},
    {"sock", "accessory", "socks"},
    {"mitten", "accessory", "mittens"},
    {"sunglass", "accessory", "sunglasses"},
    {"sunglasses", "accessory", "sunglasses"},
    {"necklace", "accessory", "necklace"},
    {"digital watch", "accessory", "watch"},
    {"cowboy hat", "accessory", "hat"},
    {"sombrero", "accessory", "hat"},
    {"bonnet", "accessory", "hat"},
    {"running shoe", "footwear", "sneakers"},
    {"sandal", "footwear", "sandals"},
    {"Loafer", "footwear", "loafers"},
    {"clog", "footwear", "clogs"},
    {"cowboy boot", "footwear", "boots"},
    {"purse", "bag", "handbag"},
    {"backpack", "bag", "backpack"},
    {"mailbag", "bag", "messenger bag"},
    {"wallet", "bag", "wallet"},
    {"studio couch", "furniture", "sofa"},
    {"four-poster", "furniture", "bed"},
    {"crib", "furniture", "crib"},
    {"cradle", "furniture", "crib"},
    {"wardrobe", "furniture", "wardrobe"},
    {"chiffonier", "furniture", "dresser"},
    {"china cabinet", "furniture", "cabinet"},
    {"medicine chest", "furniture", "cabinet"},
    {"bookcase", "furniture", "bookcase"},
    {"file", "furniture", "file cabinet"},
    {"chest", "furniture", "chest"},
    {"entertainment center", "furniture", "media unit"},
    {"desk", "furniture", "desk"},
    {"dining table", "furniture", "dining table"},
    {"barber chair", "furniture", "chair"},
    {"folding chair", "furniture", "chair"},
    {"rocking chair", "furniture", "rocking chair"},
    {"throne", "furniture", "armchair"},
    {"park bench", "furniture", "bench"},
    {"table lamp", "lighting", "table lamp"},
    {"lampshade", "lighting", "lamp"},
    {"quilt", "textile", "quilt"},
    {"pillow", "textile", "pillow"},
    {"prayer rug", "textile", "rug"},
    {"doormat", "textile", "doormat"},
    {"window shade", "textile", "blind"},
    {"shower curtain", "textile", "curtain"},
    {"theater curtain", "textile", "curtain"},
    {"vase", "decor", "vase"},
    {"pot", "plant", "plant pot"},
    {"wall clock", "decor", "clock"},
    {"analog clock", "decor", "clock"},
    {"home theater", "electronics", "tv"},
    {"television", "electronics", "tv"},
    {"refrigerator", "appliance", "refrigerator"},
    {"stove", "appliance", "stove"},
    {"microwave", "appliance", "microwave"},
    {"dishwasher", "appliance", "dishwasher"},
    {"bathtub", "fixture", "bathtub"},
    {"tub", "fixture", "bathtub"},
    {"washbasin", "fixture", "washbasin"},
    {"toilet seat", "fixture", "toilet"},
};

template <std::size_t N>
std::unordered_map<std::string_view, TaxonEntry> index(const Row (&rows)[N]) {
  std::unordered_map<std::string_view, TaxonEntry> m;
  for (const auto& r : rows) m.emplace(r.key, TaxonEntry{r.category, r.type});
  return m;
}

std::string_view first_name(std::string_view label) {
  auto comma = label.find(',');
  return comma == std::string_view::npos ? label : label.substr(0, comma);
}

}  // namespace

TaxonEntry coco_taxon(std::string_view name) {
  static const auto m = index(kCoco);
  auto it = m.find(name);
  if (it != m.end()) return it->second;
  return {"other", std::string(name)};
}

TaxonEntry imagenet_taxon(std::string_view label) {
  static const auto m = index(kImageNet);
  auto it = m.find(first_name(label));
  if (it != m.end()) return it->second;
  return {};
}

std::vector<TypeScore> types_from_probs(const std::vector<float>& probs,
                                        const std::vector<std::string>& labels, double min_score,
                                        std::size_t top) {
  struct Acc {
    TypeScore ts;
    float best = 0;  // the strongest raw class names the type
  };
  std::map<std::string, Acc> by_type;
  for (std::size_t i = 0; i < probs.size() && i < labels.size(); ++i) {
    if (probs[i] < 0.01f) continue;  // the long tail carries no signal
    TaxonEntry t = imagenet_taxon(labels[i]);
    if (t.category.empty()) continue;
    Acc& a = by_type[t.type];
    a.ts.type = t.type;
    a.ts.category = t.category;
    a.ts.score += probs[i];
    if (probs[i] > a.best) {
      a.best = probs[i];
      a.ts.imagenet = std::string(first_name(labels[i]));
    }
  }
  std::vector<TypeScore> out;
  for (auto& [k, a] : by_type) {
    if (a.ts.score >= min_score) out.push_back(a.ts);
  }
  std::sort(out.begin(), out.end(),
            [](const TypeScore& a, const TypeScore& b) { return a.score > b.score; });
  if (out.size() > top) out.resize(top);
  return out;
}

}  // namespace atelier::vision
