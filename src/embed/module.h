// The embed capability's module (see platform/module.h).
#pragma once

#include "platform/module.h"
#include "text/module.h"

namespace atelier::embed {

// `text`: the text capability's exports (its analyzer tokenises for GloVe-SIF).
ModulePtr make_module(const text::Exports* text);

}  // namespace atelier::embed
