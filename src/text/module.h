// The text capability's module (see platform/module.h).
#pragma once

#include "platform/module.h"

namespace atelier::text {

ModulePtr make_module();

}  // namespace atelier::text
