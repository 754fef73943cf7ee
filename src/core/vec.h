// Dot products of float vectors, the inner loop of outfit ranking (every pair
// of a wardrobe's items is compared on two 1280-float vectors).
//
// Eight float lanes summed in a fixed order: the compiler vectorises the
// loop (AVX2 where the CPU has it) without reordering additions, so the
// result does not depend on which argument comes first.
//
// Thread safety: pure function.
#pragma once

#include <cstddef>

namespace atelier {

float dot(const float* a, const float* b, std::size_t n);

}  // namespace atelier
