#include "models/paths.h"

#include <filesystem>

namespace atelier {

namespace fs = std::filesystem;

Result<std::string> find_model(const Config& c, const std::string& relative) {
  std::string searched;
  std::size_t start = 0;
  while (start <= c.models_dir.size()) {
    auto end = c.models_dir.find(':', start);
    if (end == std::string::npos) end = c.models_dir.size();
    const std::string dir = c.models_dir.substr(start, end - start);
    if (!dir.empty()) {
      std::error_code ec;
      auto p = fs::path(dir) / relative;
      if (fs::is_regular_file(p, ec)) return p.string();
      searched += (searched.empty() ? "" : ", ") + dir;
    }
    start = end + 1;
  }
  return Status::unavailable(relative + " not found in the models path (" + searched +
                             "); put its folder in one of them (README: Models)");
}

}  // namespace atelier
