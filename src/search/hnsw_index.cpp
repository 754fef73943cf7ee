#include "search/hnsw_index.h"

#include <hnswlib/hnswlib.h>

#include "core/mutex.h"

namespace atelier::search {
namespace {

class HnswIndex final : public VectorIndex {
 public:
  HnswIndex(int dim, HnswParams p)
      : dim_(dim),
        params_(p),
        space_(static_cast<std::size_t>(dim)),
        index_(std::make_unique<hnswlib::HierarchicalNSW<float>>(&space_, kInitialCapacity, p.m,
                                                                 p.ef_construction, p.seed)) {
    index_->setEf(p.ef_search);
  }

  // Adopts a graph read from disk; labels are positions in `ids`.
  HnswIndex(int dim, HnswParams p, const std::string& path, const std::vector<std::string>& ids)
      : dim_(dim),
        params_(p),
        space_(static_cast<std::size_t>(dim)),
        index_(std::make_unique<hnswlib::HierarchicalNSW<float>>(&space_, path)) {
    index_->setEf(p.ef_search);
    ids_ = ids;
    for (std::size_t label = 0; label < ids_.size(); ++label) {
      if (ids_[label].empty()) continue;
      bool deleted = false;
      try {
        deleted = index_->isMarkedDeleted(index_->label_lookup_.at(label));
      } catch (const std::exception&) {
        continue;
      }
      (deleted ? deleted_ : label_of_).emplace(ids_[label], label);
    }
  }

  Status save(const std::string& path, std::vector<std::string>* ids) const override {
    WriterLock lock(mu_);  // exclusive: hnswlib's save reads without its own locks
    try {
      index_->saveIndex(path);
    } catch (const std::exception& e) {
      return Status::unavailable(std::string("cannot save HNSW index: ") + e.what());
    }
    *ids = ids_;
    return Status::ok();
  }

  std::string kind() const override { return "hnsw"; }
  int dimensions() const override { return dim_; }
  std::size_t size() const override {
    ReaderLock lock(mu_);
    return label_of_.size();
  }
  std::size_t deleted() const override {
    ReaderLock lock(mu_);
    return deleted_.size();
  }
  std::size_t memory_bytes() const override {
    ReaderLock lock(mu_);
    // Level-0 links and vectors dominate: hnswlib's per-element block.
    return index_->max_elements_ * (index_->size_data_per_element_ + sizeof(void*)) +
           ids_.size() * 48;
  }

  Status upsert(const std::string& id, const std::vector<float>& v) override {
    if (static_cast<int>(v.size()) != dim_)
      return Status::invalid_argument("vector dimensions do not match the index");
    WriterLock lock(mu_);
    std::size_t label;
    if (auto it = label_of_.find(id); it != label_of_.end()) {
      label = it->second;
    } else if (auto del = deleted_.find(id); del != deleted_.end()) {
      label = del->second;  // re-adding a deleted id reuses its point
      deleted_.erase(del);
      label_of_.emplace(id, label);
    } else {
      label = ids_.size();
      ids_.push_back(id);
      label_of_.emplace(id, label);
      if (ids_.size() > index_->max_elements_) index_->resizeIndex(index_->max_elements_ * 2);
    }
    try {
      index_->addPoint(v.data(), label);  // updates the point when the label exists
    } catch (const std::exception& e) {
      return Status::internal(std::string("hnsw insert failed: ") + e.what());
    }
    return Status::ok();
  }

  void remove(const std::string& id) override {
    WriterLock lock(mu_);
    auto it = label_of_.find(id);
    if (it == label_of_.end()) return;
    try {
      index_->markDelete(it->second);
    } catch (const std::exception&) {
    }
    deleted_.emplace(id, it->second);
    label_of_.erase(it);
  }

  std::vector<VectorHit> search(
      const std::vector<float>& q, int k,
      const std::function<bool(const std::string&)>& keep) const override {
    ReaderLock lock(mu_);
    std::vector<VectorHit> out;
    if (static_cast<int>(q.size()) != dim_ || k <= 0 || label_of_.empty()) return out;
    // Over-fetch when filtering, widening until k survive or all were seen.
    std::size_t fetch = static_cast<std::size_t>(k) * (keep ? 4 : 1);
    for (;;) {
      fetch = std::min(fetch, label_of_.size());
      auto pq = index_->searchKnn(q.data(), fetch);
      std::vector<std::pair<float, std::size_t>> found;
      while (!pq.empty()) {
        found.emplace_back(pq.top());
        pq.pop();
      }
      out.clear();
      for (auto r = found.rbegin(); r != found.rend(); ++r) {  // nearest first
        const std::string& id = ids_[r->second];
        if (keep && !keep(id)) continue;
        out.push_back({id, 1.0f - r->first});  // hnswlib's IP distance is 1 - dot
        if (static_cast<int>(out.size()) == k) return out;
      }
      if (!keep || fetch >= label_of_.size()) return out;
      fetch *= 4;
    }
  }

 private:
  static constexpr std::size_t kInitialCapacity = 1024;
  const int dim_;
  const HnswParams params_;
  hnswlib::InnerProductSpace space_;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index_ GUARDED_BY(mu_)
      PT_GUARDED_BY(mu_);  // hnswlib's own locks aside
  mutable SharedMutex mu_;
  std::vector<std::string> ids_ GUARDED_BY(mu_);                           // label -> id
  std::unordered_map<std::string, std::size_t> label_of_ GUARDED_BY(mu_);  // live ids
  // Marked-deleted ids, reusable labels.
  std::unordered_map<std::string, std::size_t> deleted_ GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<VectorIndex> make_hnsw_index(int dimensions, HnswParams params) {
  return std::make_unique<HnswIndex>(dimensions, params);
}

Result<std::unique_ptr<VectorIndex>> load_hnsw_index(const std::string& path, int dimensions,
                                                     const std::vector<std::string>& ids,
                                                     HnswParams params) {
  try {
    auto idx = std::make_unique<HnswIndex>(dimensions, params, path, ids);
    return std::unique_ptr<VectorIndex>(std::move(idx));
  } catch (const std::exception& e) {
    return Status::unavailable("cannot read HNSW index " + path + ": " + e.what());
  }
}

}  // namespace atelier::search
