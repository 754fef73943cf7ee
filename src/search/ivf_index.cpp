#include "search/ivf_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/IDSelector.h>
#include <faiss/index_io.h>
#include <omp.h>

#include <cmath>

#include "core/mutex.h"

namespace atelier::search {

namespace {

// Filters by our string ids inside FAISS's scan.
struct KeepSelector final : faiss::IDSelector {
  const std::vector<std::string>* names;
  const std::function<bool(const std::string&)>* keep;
  bool is_member(faiss::Index::idx_t id) const override {
    return id >= 0 && static_cast<std::size_t>(id) < names->size() && !(*names)[id].empty() &&
           (*keep)((*names)[id]);
  }
};

class IvfIndex final : public VectorIndex {
 public:
  IvfIndex(int dim, std::size_t nlist, std::size_t nprobe) : dim_(dim), nprobe_(nprobe) {
    auto q = std::make_unique<faiss::IndexFlatIP>(dim);
    index_ =
        std::make_unique<faiss::IndexIVFFlat>(q.get(), dim, nlist, faiss::METRIC_INNER_PRODUCT);
    // The IVF index deletes its quantizer: it holds q's pointer already, so q lets go of it
    // (the pointer release() returns is that same one, not needed here).
    index_->own_fields = true;
    (void)q.release();
  }
  // Adopts an index read from disk; labels are positions in `ids`.
  IvfIndex(int dim, std::size_t nprobe, std::unique_ptr<faiss::IndexIVFFlat> index,
           std::vector<std::string> ids)
      : dim_(dim), index_(std::move(index)), nprobe_(nprobe), names_(std::move(ids)) {
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (!names_[i].empty()) label_.emplace(names_[i], static_cast<faiss::Index::idx_t>(i));
    }
  }

  Status save(const std::string& path, std::vector<std::string>* ids) const override {
    ReaderLock lk(mu_);
    try {
      faiss::write_index(index_.get(), path.c_str());
    } catch (const faiss::FaissException& e) {
      return Status::unavailable(std::string("cannot save IVF index: ") + e.what());
    }
    *ids = names_;
    return Status::ok();
  }

  Status train(const std::vector<float>& rows) {
    WriterLock lk(mu_);  // a fresh index no other thread sees yet
    try {
      index_->train(static_cast<faiss::Index::idx_t>(rows.size() / dim_), rows.data());
      index_->set_direct_map_type(faiss::DirectMap::Hashtable);
    } catch (const faiss::FaissException& e) {
      return Status::internal(std::string("FAISS training failed: ") + e.what());
    }
    return Status::ok();
  }

  std::string kind() const override { return "ivf"; }
  int dimensions() const override { return dim_; }
  std::size_t size() const override {
    ReaderLock lk(mu_);
    return static_cast<std::size_t>(index_->ntotal);
  }
  std::size_t memory_bytes() const override {
    ReaderLock lk(mu_);
    return static_cast<std::size_t>(index_->ntotal) *
               (dim_ * sizeof(float) + sizeof(faiss::Index::idx_t) * 3) +
           index_->nlist * dim_ * sizeof(float);
  }

  Status upsert(const std::string& id, const std::vector<float>& v) override {
    if (static_cast<int>(v.size()) != dim_) {
      return Status::invalid_argument("vector has " + std::to_string(v.size()) +
                                      " dimensions, index has " + std::to_string(dim_));
    }
    WriterLock lk(mu_);
    faiss::Index::idx_t label;
    auto it = label_.find(id);
    try {
      if (it != label_.end()) {
        label = it->second;
        faiss::IDSelectorArray sel(1, &label);
        index_->remove_ids(sel);
      } else {
        label = static_cast<faiss::Index::idx_t>(names_.size());
        names_.push_back(id);
        label_.emplace(id, label);
      }
      index_->add_with_ids(1, v.data(), &label);
    } catch (const faiss::FaissException& e) {
      return Status::internal(std::string("FAISS add failed: ") + e.what());
    }
    return Status::ok();
  }

  void remove(const std::string& id) override {
    WriterLock lk(mu_);
    auto it = label_.find(id);
    if (it == label_.end()) return;
    faiss::Index::idx_t label = it->second;
    faiss::IDSelectorArray sel(1, &label);
    index_->remove_ids(sel);
    names_[label].clear();  // labels are never reused: stale results cannot name a new id
    label_.erase(it);
  }

  std::vector<VectorHit> search(
      const std::vector<float>& q, int k,
      const std::function<bool(const std::string&)>& keep) const override {
    std::vector<VectorHit> out;
    if (static_cast<int>(q.size()) != dim_ || k <= 0) return out;
    ReaderLock lk(mu_);
    if (index_->ntotal == 0) return out;
    faiss::SearchParametersIVF params;
    params.nprobe = std::min(nprobe_, index_->nlist);
    KeepSelector sel;
    sel.names = &names_;
    sel.keep = &keep;
    if (keep) params.sel = &sel;
    std::vector<float> d(k);
    std::vector<faiss::Index::idx_t> l(k);
    omp_set_num_threads(1);  // this thread's OpenMP team only; request threads are the parallelism
    index_->search(1, q.data(), k, d.data(), l.data(), &params);
    for (int i = 0; i < k; ++i) {
      if (l[i] < 0) break;
      out.push_back({names_[l[i]], d[i]});
    }
    return out;
  }

 private:
  const int dim_;
  mutable SharedMutex mu_;
  std::unique_ptr<faiss::IndexIVFFlat> index_ GUARDED_BY(mu_)
      PT_GUARDED_BY(mu_);  // owns its quantizer
  const std::size_t nprobe_;
  std::vector<std::string> names_ GUARDED_BY(mu_);  // label -> id ("" once removed)
  std::unordered_map<std::string, faiss::Index::idx_t> label_ GUARDED_BY(mu_);
};

}  // namespace

Result<std::unique_ptr<VectorIndex>> load_ivf_index(const std::string& path, int dimensions,
                                                    std::vector<std::string> ids,
                                                    std::size_t nprobe) {
  try {
    std::unique_ptr<faiss::Index> raw(faiss::read_index(path.c_str()));
    auto* ivf = dynamic_cast<faiss::IndexIVFFlat*>(raw.get());
    if (!ivf || ivf->d != dimensions)
      return Status::unavailable(path + " is not a " + std::to_string(dimensions) + "-d IVF index");
    std::unique_ptr<faiss::IndexIVFFlat> owned(static_cast<faiss::IndexIVFFlat*>(raw.release()));
    if (owned->direct_map.type != faiss::DirectMap::Hashtable)
      owned->set_direct_map_type(faiss::DirectMap::Hashtable);
    return std::unique_ptr<VectorIndex>(
        std::make_unique<IvfIndex>(dimensions, nprobe, std::move(owned), std::move(ids)));
  } catch (const faiss::FaissException& e) {
    return Status::unavailable("cannot read IVF index " + path + ": " + e.what());
  }
}

Result<std::unique_ptr<VectorIndex>> make_ivf_index(int dimensions, const std::vector<float>& train,
                                                    IvfParams params) {
  const std::size_t n = train.size() / static_cast<std::size_t>(dimensions);
  std::size_t nlist =
      params.nlist ? params.nlist : static_cast<std::size_t>(2 * std::sqrt(double(n)));
  nlist =
      std::max<std::size_t>(1, std::min(nlist, n / 39));  // FAISS wants >= 39 points per centroid
  if (n == 0) return Status::invalid_argument("IVF needs training vectors");
  auto idx = std::make_unique<IvfIndex>(dimensions, nlist, params.nprobe);
  ATELIER_RETURN_IF_ERROR(idx->train(train));
  return std::unique_ptr<VectorIndex>(std::move(idx));
}

}  // namespace atelier::search
