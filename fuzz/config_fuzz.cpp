// Configuration files (YAML or .env, chosen by the file name) and values.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const std::string base = "/tmp/atelier-fuzz-" + std::to_string(::getpid());
  const std::string path = base + (data[0] & 1 ? ".yaml" : ".env");
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data + 1, 1, size - 1, f);
  std::fclose(f);
  atelier::ConfigSource src;
  src.file = path;
  (void)atelier::load_config(src);
  return 0;
}
