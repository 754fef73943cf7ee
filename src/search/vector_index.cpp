#include "search/vector_index.h"

#include <cblas.h>

#include <algorithm>
#include <queue>

namespace atelier::search {

std::size_t FlatIndex::size() const {
  ReaderLock lock(mu_);
  return ids_.size();
}

std::size_t FlatIndex::memory_bytes() const {
  ReaderLock lock(mu_);
  std::size_t n = data_.capacity() * sizeof(float);
  for (const auto& id : ids_) n += sizeof(std::string) + id.capacity() + 32;  // id + map node
  return n;
}

Status FlatIndex::upsert(const std::string& id, const std::vector<float>& v) {
  if (static_cast<int>(v.size()) != dim_) {
    return Status::invalid_argument("vector has " + std::to_string(v.size()) +
                                    " dimensions, the index " + std::to_string(dim_));
  }
  WriterLock lock(mu_);
  auto it = row_.find(id);
  std::size_t row;
  if (it != row_.end()) {
    row = it->second;
  } else {
    row = ids_.size();
    ids_.push_back(id);
    data_.resize(data_.size() + static_cast<std::size_t>(dim_));
    row_.emplace(id, row);
  }
  std::copy(v.begin(), v.end(), data_.begin() + static_cast<std::ptrdiff_t>(row * dim_));
  return Status::ok();
}

void FlatIndex::remove(const std::string& id) {
  WriterLock lock(mu_);
  auto it = row_.find(id);
  if (it == row_.end()) return;
  // Move the last row into the hole to keep the matrix dense.
  const std::size_t row = it->second, last = ids_.size() - 1;
  if (row != last) {
    std::copy(data_.begin() + static_cast<std::ptrdiff_t>(last * dim_),
              data_.begin() + static_cast<std::ptrdiff_t>((last + 1) * dim_),
              data_.begin() + static_cast<std::ptrdiff_t>(row * dim_));
    ids_[row] = std::move(ids_[last]);
    row_[ids_[row]] = row;
  }
  row_.erase(id);
  ids_.pop_back();
  data_.resize(ids_.size() * static_cast<std::size_t>(dim_));
}

std::vector<VectorHit> FlatIndex::search(
    const std::vector<float>& q, int k, const std::function<bool(const std::string&)>& keep) const {
  ReaderLock lock(mu_);
  if (static_cast<int>(q.size()) != dim_ || k <= 0) return {};
  using Entry = std::pair<float, std::size_t>;
  // All inner products in one OpenBLAS matrix-vector product.
  thread_local std::vector<float> scores;
  scores.resize(ids_.size());
  if (!ids_.empty()) {
    cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<blasint>(ids_.size()), dim_, 1.0f,
                data_.data(), dim_, q.data(), 1, 0.0f, scores.data(), 1);
  }
  // Min-heap of the best k so far.
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> best;
  for (std::size_t r = 0; r < ids_.size(); ++r) {
    const float dot = scores[r];
    if (static_cast<int>(best.size()) == k && dot <= best.top().first) continue;
    if (keep && !keep(ids_[r])) continue;
    best.emplace(dot, r);
    if (static_cast<int>(best.size()) > k) best.pop();
  }
  std::vector<VectorHit> out(best.size());
  for (std::size_t i = out.size(); i-- > 0;) {
    out[i] = {ids_[best.top().second], best.top().first};
    best.pop();
  }
  return out;
}

}  // namespace atelier::search
