// HNSW approximate nearest-neighbour index (hnswlib, inner product) behind
// VectorIndex. Deletes use hnswlib's markDelete (the point stays in the graph
// and is skipped); re-adding an id updates its point in place. Filters are
// applied by over-fetching, as hnswlib 0.6 has no filtered search.
//
// hnswlib's header defines non-inline functions, so hnsw_index.cpp is the only
// file that includes it; CMake builds that file with AVX2 when ATELIER_AVX2 is
// on (see CMakeLists.txt).
#pragma once

#include <memory>

#include "search/vector_index.h"

namespace atelier::search {

struct HnswParams {
  std::size_t m = 16;
  std::size_t ef_construction = 200;
  std::size_t ef_search = 128;
  std::size_t seed = 42;
};

std::unique_ptr<VectorIndex> make_hnsw_index(int dimensions, HnswParams params = {});
// Reads what save() wrote; `ids` as save() returned them (label order).
Result<std::unique_ptr<VectorIndex>> load_hnsw_index(const std::string& path, int dimensions,
                                                     const std::vector<std::string>& ids,
                                                     HnswParams params = {});

}  // namespace atelier::search
