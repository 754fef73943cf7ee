// The chat capability's module (see platform/module.h).
#pragma once

#include <functional>

#include "platform/module.h"
#include "platform/wardrobe_advice.h"
#include "search/module.h"
#include "text/module.h"

namespace atelier::chat {

// What chat uses of other capabilities, handed over by the composition root:
// the search capability's collections (started before chat), the text
// capability's analyzer (ranks definitions; may be absent) and the asker's
// wardrobe as a tool (may answer empty).
struct Needs {
  const search::Exports* search = nullptr;
  const text::Exports* text = nullptr;
  std::function<WardrobeAdvisor()> advisor;
};

ModulePtr make_module(Needs needs);

}  // namespace atelier::chat
