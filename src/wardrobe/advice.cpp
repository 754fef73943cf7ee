#include "wardrobe/advice.h"

namespace atelier::wardrobe {

namespace {

// What completes an item of each category, most needed first.
std::vector<std::string> complements(const std::string& category) {
  if (category == "top") return {"bottom", "footwear"};
  if (category == "bottom") return {"top", "footwear"};
  if (category == "dress") return {"footwear", "bag"};
  if (category == "outerwear") return {"top", "bottom"};
  if (category == "footwear") return {"bottom", "top"};
  if (category == "bag") return {"top", "footwear"};
  return {"top", "bottom"};
}

WardrobePiece piece(const Item& it, double score) {
  return {it.id, outfit_item(it).label, it.category(), tag_text(it), score};
}

}  // namespace

Result<std::optional<WardrobeAdvice>> advise(WardrobeService& items, OutfitService& outfits,
                                             const std::string& owner, const std::string& question,
                                             const WorkContext& work) {
  ATELIER_ASSIGN_OR_RETURN(auto found, items.search(owner, question, 1, work));
  if (found.empty() || found[0].score < kNamedItemScore) return std::optional<WardrobeAdvice>();
  const Item& anchor = found[0].item;
  WardrobeAdvice advice;
  advice.anchor = piece(anchor, found[0].score);
  for (const auto& category : complements(anchor.category())) {
    FillRequest f;
    f.anchor_item_ids = {anchor.id};
    f.category = category;
    f.k = 1;
    ATELIER_ASSIGN_OR_RETURN(auto ranked, outfits.fill(owner, f, work));
    if (ranked.empty()) continue;
    ATELIER_ASSIGN_OR_RETURN(Item match, items.get(owner, ranked[0].item_id, work));
    advice.matches.push_back(piece(match, ranked[0].score));
  }
  if (!advice.matches.empty()) {
    // What the evaluation says of the anchor with all its matches together.
    std::vector<std::string> ids = {anchor.id};
    for (const auto& m : advice.matches) ids.push_back(m.id);
    ATELIER_ASSIGN_OR_RETURN(Evaluation e, outfits.evaluate_items(owner, ids, work));
    advice.explanation = std::move(e.explanation);
  }
  return std::optional<WardrobeAdvice>(std::move(advice));
}

}  // namespace atelier::wardrobe
