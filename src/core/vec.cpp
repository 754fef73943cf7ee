#include "core/vec.h"

namespace atelier {

__attribute__((target_clones("avx2", "default"))) float dot(const float* a, const float* b,
                                                            std::size_t n) {
  float lane[8] = {};
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (std::size_t k = 0; k < 8; ++k) lane[k] += a[i + k] * b[i + k];
  float tail = 0;
  for (; i < n; ++i) tail += a[i] * b[i];
  return ((lane[0] + lane[4]) + (lane[1] + lane[5])) + ((lane[2] + lane[6]) + (lane[3] + lane[7])) +
         tail;
}

}  // namespace atelier
