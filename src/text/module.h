// The text capability's module (see platform/module.h).
#pragma once

#include "platform/module.h"

namespace atelier::text {

class Analyzer;

// What the text capability offers the capabilities after it (set by its
// start(); the composition root hands it on): the analyzer BM25 and
// GloVe-SIF tokenise with.
struct Exports {
  const Analyzer* analyzer = nullptr;
};

ModulePtr make_module(Exports* exports);

}  // namespace atelier::text
