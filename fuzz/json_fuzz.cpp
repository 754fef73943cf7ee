// JSON intake: request bodies, NDJSON lines and stored metadata all go
// through json::parse; whatever it accepts must be safe to walk and print.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  // Whole input as one document, then as NDJSON lines.
  if (auto j = atelier::json::parse(text); j.is_ok()) {
    (void)atelier::json::depth(*j);
    (void)j->dump();
  }
  std::string_view rest = text;
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    if (auto j = atelier::json::parse(rest.substr(0, nl), {}, "line"); j.is_ok()) (void)j->dump();
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  return 0;
}
