// Where model files are: the models path (ATELIER_MODELS_DIR, ':'-separated)
// searched in order.
#pragma once

#include <string>

#include "config/config.h"
#include "core/status.h"

namespace atelier {

// The first `<dir>/<relative>` that is a file; unavailable (naming the folders
// searched) when there is none.
Result<std::string> find_model(const Config& c, const std::string& relative);

}  // namespace atelier
