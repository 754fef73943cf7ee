// The wardrobe capability's module (see platform/module.h).
#pragma once

#include "engines/vision.h"
#include "platform/module.h"
#include "platform/wardrobe_advice.h"

namespace atelier::wardrobe {

// What the wardrobe offers other capabilities (set by its start(); the
// composition root hands them on): chat's "what goes with my navy blazer?",
// and vision's judge of the outfit a person in a photo wears (empty when the
// tagger's model did not load).
struct Exports {
  WardrobeAdvisor advisor;
  engines::OutfitJudge outfit_judge;
};

ModulePtr make_module(Exports* exports);

}  // namespace atelier::wardrobe
