// The safetensors reader on arbitrary files: header bounds, offsets, dtypes.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "nn/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::string path =
      "/tmp/atelier-fuzz-" + std::to_string(::getpid()) + ".safetensors";
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return 0;
  std::fwrite(data, 1, size, f);
  std::fclose(f);
  auto st = atelier::nn::SafeTensors::open(path);
  if (st.is_ok()) {
    for (const auto& name : (*st)->names()) {
      const auto* info = (*st)->find(name);
      if (info && info->bytes <= (1u << 20)) (void)(*st)->load_f32(name, info->shape);
    }
  }
  return 0;
}
