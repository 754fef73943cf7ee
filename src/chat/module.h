// The chat capability's module (see platform/module.h).
#pragma once

#include "platform/module.h"

namespace atelier::chat {

ModulePtr make_module();

}  // namespace atelier::chat
