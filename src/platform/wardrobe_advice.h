// What the chat capability asks the wardrobe: "what goes with my navy
// blazer?" is answered from the asker's own items. The wardrobe finds the
// item the question names (text search over its tags) and the items of the
// categories that complete it (fill), each with the evaluation's sentences.
// Set by the wardrobe module; empty when it is not there.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"

namespace atelier {

struct WardrobePiece {
  std::string id;        // the wardrobe item's id
  std::string label;     // how explanations name it ("the navy blazer")
  std::string category;  // wardrobe category
  std::string summary;   // its tags in words (what a citation shows)
  double score = 0;      // the item's match (anchor) or the completed outfit's score
};

struct WardrobeAdvice {
  WardrobePiece anchor;                  // the item the question names
  std::vector<WardrobePiece> matches;    // best first
  std::vector<std::string> explanation;  // about the anchor with the best matches
};

// nullopt: the owner has no item the question names.
using WardrobeAdvisor = std::function<Result<std::optional<WardrobeAdvice>>(
    const std::string& owner, const std::string& question, const WorkContext& work)>;

}  // namespace atelier
