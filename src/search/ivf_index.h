// FAISS IndexIVFFlat (inner product) behind VectorIndex, for the largest
// collections (above about 1M vectors, where HNSW's graph costs too much
// memory and build time). Native add_with_ids with a hash-table direct map,
// so ids are removed in place (remove_ids + IDSelectorArray) and replaced;
// filters run inside the scan as an IDSelector; nprobe per search.
//
// FAISS parallelises a search with OpenMP; request threads already run in
// parallel, so each search runs on one OpenMP thread.
//
// Thread safety: a shared mutex, as FlatIndex: searches concurrently, writes
// exclusively.
#pragma once

#include <memory>

#include "search/vector_index.h"

namespace atelier::search {

struct IvfParams {
  std::size_t nlist = 0;  // 0: about 2 * sqrt(N) of the training set
  std::size_t nprobe = 32;
};

// Trains the coarse quantizer on `train` (rows of `dimensions` floats; a
// sample of the collection) and returns an empty index ready for upserts.
Result<std::unique_ptr<VectorIndex>> make_ivf_index(int dimensions, const std::vector<float>& train,
                                                    IvfParams params = {});
// Reads what save() wrote; `ids` as save() returned them (label order).
Result<std::unique_ptr<VectorIndex>> load_ivf_index(const std::string& path, int dimensions,
                                                    std::vector<std::string> ids,
                                                    std::size_t nprobe);

}  // namespace atelier::search
