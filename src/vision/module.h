// The vision capability's module (see platform/module.h).
#pragma once

#include "platform/module.h"

namespace atelier::vision {

ModulePtr make_module();

}  // namespace atelier::vision
