// The search capability's module (see platform/module.h).
#pragma once

#include "platform/module.h"
#include "text/module.h"

namespace atelier::search {

class SearchService;

// What the search capability offers the capabilities after it (set by its
// start(); the composition root hands it on).
struct Exports {
  SearchService* service = nullptr;
};

// `text`: the text capability's exports (BM25 tokenises with its analyzer).
ModulePtr make_module(const text::Exports* text, Exports* exports);

}  // namespace atelier::search
