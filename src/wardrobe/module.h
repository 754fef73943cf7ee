// The wardrobe capability's module (see platform/module.h).
#pragma once

#include "platform/module.h"

namespace atelier::wardrobe {

ModulePtr make_module();

}  // namespace atelier::wardrobe
