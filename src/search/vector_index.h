// The vector-index seam: FlatIndex (exact inner product, OpenBLAS), HNSW
// (hnswlib, hnsw_index.h) and IVF (FAISS, ivf_index.h) behind one interface,
// chosen by collection size and configuration (search/service.cpp).
//
// Vectors are L2-normalised by the embedders, so inner product = cosine.
// Thread safety: FlatIndex guards itself with a shared mutex: searches run
// concurrently, writes exclusively.
#pragma once

#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"

namespace atelier::search {

struct VectorHit {
  std::string id;
  float score = 0;
};

class VectorIndex {
 public:
  virtual ~VectorIndex() = default;
  virtual std::string kind() const = 0;
  virtual int dimensions() const = 0;
  virtual std::size_t size() const = 0;
  virtual std::size_t memory_bytes() const = 0;
  // Points still held for removed ids (HNSW tombstones); a rebuild drops them.
  virtual std::size_t deleted() const { return 0; }
  // Adds or replaces the vector of `id`.
  virtual Status upsert(const std::string& id, const std::vector<float>& v) = 0;
  virtual void remove(const std::string& id) = 0;
  // Writes the index to `path` in its own format and its ids to `ids`
  // (label order, "" for free labels). Flat indexes are not saved: rebuilding
  // one from the store costs what reading a file would.
  virtual Status save(const std::string& path, std::vector<std::string>* ids) const {
    (void)path;
    (void)ids;
    return Status::invalid_argument(kind() + " indexes are not saved");
  }
  // Top k by inner product; `keep` (may be empty) filters candidates by id.
  virtual std::vector<VectorHit> search(
      const std::vector<float>& q, int k,
      const std::function<bool(const std::string&)>& keep) const = 0;
};

class FlatIndex final : public VectorIndex {
 public:
  explicit FlatIndex(int dimensions) : dim_(dimensions) {}
  std::string kind() const override { return "flat"; }
  int dimensions() const override { return dim_; }
  std::size_t size() const override;
  std::size_t memory_bytes() const override;
  Status upsert(const std::string& id, const std::vector<float>& v) override;
  void remove(const std::string& id) override;
  std::vector<VectorHit> search(const std::vector<float>& q, int k,
                                const std::function<bool(const std::string&)>& keep) const override;

 private:
  const int dim_;
  mutable SharedMutex mu_;
  std::vector<float> data_ GUARDED_BY(mu_);                           // rows of dim_ floats
  std::vector<std::string> ids_ GUARDED_BY(mu_);                      // row -> id
  std::unordered_map<std::string, std::size_t> row_ GUARDED_BY(mu_);  // id -> row
};

}  // namespace atelier::search
