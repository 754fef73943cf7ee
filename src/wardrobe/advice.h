// The wardrobe as a chat tool (platform/wardrobe_advice.h): the item a
// question names, found by its tags' words, and the owner's items that best
// complete it, one or two categories at a time.
//
// Thread safety: as the services it calls.
#pragma once

#include "platform/wardrobe_advice.h"
#include "wardrobe/outfits.h"
#include "wardrobe/service.h"

namespace atelier::wardrobe {

// Below this cosine between the question and an item's tag text, no item is
// taken to be the one the question names.
inline constexpr double kNamedItemScore = 0.5;

Result<std::optional<WardrobeAdvice>> advise(WardrobeService& items, OutfitService& outfits,
                                             const std::string& owner, const std::string& question,
                                             const WorkContext& work);

}  // namespace atelier::wardrobe
