// The accounts capability's module (see platform/module.h).
#pragma once

#include "platform/module.h"

namespace atelier::accounts {

ModulePtr make_module();

}  // namespace atelier::accounts
