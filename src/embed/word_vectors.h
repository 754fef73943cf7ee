// A read-only table of word vectors, memory-mapped from atelier's compact
// file (written by tools/convert-wink-embeddings.mjs): words in frequency-rank
// order, float32 vectors, and the SIF common component.
//
// Thread safety: immutable after open(); any thread may read.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/status.h"

namespace atelier::embed {

class WordVectors {
 public:
  static Result<std::unique_ptr<WordVectors>> open(const std::string& path);
  ~WordVectors();
  WordVectors(const WordVectors&) = delete;
  WordVectors& operator=(const WordVectors&) = delete;

  std::uint32_t size() const { return count_; }
  std::uint32_t dim() const { return dim_; }
  // Frequency rank (0 = most frequent) of `word`, or -1 when unknown.
  std::int64_t rank(std::string_view word) const;
  std::span<const float> vector(std::uint32_t rank) const {
    return {vectors_ + std::size_t(rank) * dim_, dim_};
  }
  std::span<const float> common_component() const { return {common_, dim_}; }

 private:
  struct Passkey {};

 public:
  explicit WordVectors(Passkey) {}

 private:
  void* map_ = nullptr;
  std::size_t map_size_ = 0;
  std::uint32_t count_ = 0, dim_ = 0;
  const float* vectors_ = nullptr;
  const float* common_ = nullptr;
  std::unordered_map<std::string_view, std::uint32_t> index_;  // views into the mapping
};

}  // namespace atelier::embed
