// The design capability's module (see platform/module.h).
#pragma once

#include "platform/module.h"

namespace atelier::design {

ModulePtr make_module();

}  // namespace atelier::design
