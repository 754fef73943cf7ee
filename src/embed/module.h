// The embed capability's module (see platform/module.h).
#pragma once

#include "platform/module.h"

namespace atelier::embed {

ModulePtr make_module();

}  // namespace atelier::embed
