// The search capability's module (see platform/module.h).
#pragma once

#include "platform/module.h"

namespace atelier::search {

ModulePtr make_module();

}  // namespace atelier::search
