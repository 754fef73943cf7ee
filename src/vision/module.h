// The vision capability's module (see platform/module.h).
#pragma once

#include <functional>

#include "engines/vision.h"
#include "platform/module.h"

namespace atelier::vision {

// `outfit_judge`: asked once every module has started (the wardrobe, which
// offers it, starts later); may answer empty.
ModulePtr make_module(std::function<engines::OutfitJudge()> outfit_judge);

}  // namespace atelier::vision
