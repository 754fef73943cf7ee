// The search capability's module (see platform/module.h).
#pragma once

#include "platform/module.h"

namespace atelier::search {

class SearchService;

// What the search capability offers the capabilities after it (set by its
// start(); the composition root hands it on).
struct Exports {
  SearchService* service = nullptr;
};

ModulePtr make_module(Exports* exports);

}  // namespace atelier::search
