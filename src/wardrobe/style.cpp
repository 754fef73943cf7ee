#include "wardrobe/style.h"

#include <cblas.h>

#include "core/vec.h"

#include <algorithm>
#include <cmath>
#include <map>

namespace atelier::wardrobe {

namespace {

void normalise(std::vector<float>& v) {
  double n = 0;
  for (float x : v) n += double(x) * x;
  if (n <= 1e-20) return;  // the item is its category's mean: no look of its own
  const float inv = static_cast<float>(1.0 / std::sqrt(n));
  for (float& x : v) x *= inv;
}

// Mean of the k largest values of `s` (all of them when there are fewer).
float top_mean(std::vector<float>& s, std::size_t k) {
  if (s.empty()) return 0;
  k = std::min(k, s.size());
  std::nth_element(s.begin(), s.begin() + static_cast<std::ptrdiff_t>(k - 1), s.end(),
                   std::greater<float>());
  double sum = 0;
  for (std::size_t i = 0; i < k; ++i) sum += s[i];
  return static_cast<float>(sum / double(k));
}

}  // namespace

double style_similarity(const StylePoint& a, int category_a, const StylePoint& b, int category_b) {
  const double d = dot(a.vec.data(), b.vec.data(), std::min(a.vec.size(), b.vec.size()));
  return d - 0.25 * (double(a.hub[static_cast<std::size_t>(category_b)]) +
                     double(b.hub[static_cast<std::size_t>(category_a)]));
}

std::shared_ptr<const StyleSpace> StyleSpace::build(const std::vector<Item>& items) {
  const auto started = std::chrono::steady_clock::now();
  auto space = std::make_shared<StyleSpace>();
  std::map<std::size_t, std::size_t> sizes;
  for (const auto& it : items)
    if (!it.embedding.empty()) ++sizes[it.embedding.size()];
  if (sizes.empty()) return space;
  const std::size_t d =
      std::max_element(sizes.begin(), sizes.end(), [](const auto& a, const auto& b) {
        return a.second < b.second;
      })->first;
  space->dims_ = d;
  // Members of each category, centred on the category's mean.
  std::array<std::vector<const Item*>, kCategoryCount> members;
  for (const auto& it : items) {
    const int c = category_index(it.category());
    if (c >= 0 && it.embedding.size() == d) members[static_cast<std::size_t>(c)].push_back(&it);
  }
  std::vector<std::pair<std::size_t, std::size_t>> where;  // (category, row) of each point
  for (std::size_t c = 0; c < kCategoryCount; ++c) {
    const auto& m = members[c];
    if (m.size() < kMinPerCategory) continue;
    std::vector<double> mean(d, 0.0);
    for (const Item* it : m)
      for (std::size_t k = 0; k < d; ++k) mean[k] += it->embedding[k];
    auto& mu = space->mean_[c];
    mu.resize(d);
    for (std::size_t k = 0; k < d; ++k) mu[k] = static_cast<float>(mean[k] / double(m.size()));
    auto& rows = space->rows_[c];
    rows.resize(m.size() * d);
    for (std::size_t r = 0; r < m.size(); ++r) {
      std::vector<float> v(d);
      for (std::size_t k = 0; k < d; ++k) v[k] = m[r]->embedding[k] - mu[k];
      normalise(v);
      std::copy(v.begin(), v.end(), rows.begin() + static_cast<std::ptrdiff_t>(r * d));
      space->index_[m[r]->id] = space->points_.size();
      space->points_.push_back({std::move(v), {}});
      where.emplace_back(c, r);
    }
  }
  // Hubness: every point against every category, one matrix product each.
  const std::size_t n = space->points_.size();
  std::vector<float> all(n * d);
  for (std::size_t i = 0; i < n; ++i)
    std::copy(space->points_[i].vec.begin(), space->points_[i].vec.end(),
              all.begin() + static_cast<std::ptrdiff_t>(i * d));
  std::vector<float> sims, row;
  for (std::size_t c = 0; c < kCategoryCount; ++c) {
    const auto& rows = space->rows_[c];
    const std::size_t m = rows.size() / std::max<std::size_t>(1, d);
    if (m == 0 || n == 0) continue;
    sims.assign(n * m, 0.f);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(m),
                static_cast<int>(d), 1.f, all.data(), static_cast<int>(d), rows.data(),
                static_cast<int>(d), 0.f, sims.data(), static_cast<int>(m));
    for (std::size_t i = 0; i < n; ++i) {
      row.clear();
      for (std::size_t j = 0; j < m; ++j)
        if (!(where[i].first == c && where[i].second == j)) row.push_back(sims[i * m + j]);
      space->points_[i].hub[c] = top_mean(row, kNeighbours);
    }
  }
  space->build_ms_ =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return space;
}

const StylePoint* StyleSpace::find(const std::string& id) const {
  const auto it = index_.find(id);
  return it == index_.end() ? nullptr : &points_[it->second];
}

std::optional<StylePoint> StyleSpace::place(const std::string& category,
                                            const std::vector<float>& embedding) const {
  const int c = category_index(category);
  if (c < 0 || embedding.size() != dims_ || mean_[static_cast<std::size_t>(c)].empty())
    return std::nullopt;
  StylePoint p;
  p.vec.resize(dims_);
  const auto& mu = mean_[static_cast<std::size_t>(c)];
  for (std::size_t k = 0; k < dims_; ++k) p.vec[k] = embedding[k] - mu[k];
  normalise(p.vec);
  std::vector<float> row;
  for (std::size_t k = 0; k < kCategoryCount; ++k) {
    const auto& rows = rows_[k];
    row.clear();
    for (std::size_t j = 0; j * dims_ < rows.size(); ++j) {
      row.push_back(dot(p.vec.data(), rows.data() + j * dims_, dims_));
    }
    p.hub[k] = top_mean(row, kNeighbours);
  }
  return p;
}

std::size_t StyleSpace::bytes() const {
  std::size_t b = points_.size() * (dims_ * sizeof(float) + sizeof(StylePoint));
  for (const auto& r : rows_) b += r.size() * sizeof(float);
  for (const auto& m : mean_) b += m.size() * sizeof(float);
  for (const auto& [id, i] : index_) b += id.size() + sizeof(i) + 32;
  return b;
}

WardrobeVersion version_of(const std::vector<Item>& items) {
  WardrobeVersion v;
  v.items = static_cast<std::int64_t>(items.size());
  for (const auto& it : items) v.updated_sum += it.updated_at;
  return v;
}

std::shared_ptr<const StyleSpace> StyleCache::lookup(const std::string& owner,
                                                     const WardrobeVersion& v) {
  MutexLock lock(mu_);
  auto it = entries_.find(owner);
  if (it == entries_.end() || !(it->second.version == v)) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  ++stats_.hits;
  return it->second.space;
}

void StyleCache::put(const std::string& owner, const WardrobeVersion& v,
                     std::shared_ptr<const StyleSpace> space) {
  MutexLock lock(mu_);
  ++stats_.builds;
  stats_.build_ms_total += space->build_ms();
  if (auto it = entries_.find(owner); it != entries_.end()) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
  lru_.push_front(owner);
  entries_[owner] = {v, std::move(space), lru_.begin()};
  while (entries_.size() > capacity_) {
    entries_.erase(lru_.back());
    lru_.pop_back();
  }
}

Result<std::shared_ptr<const StyleSpace>> StyleCache::get(
    const std::string& owner, const WardrobeVersion& version,
    const std::function<Result<std::vector<Item>>()>& load) {
  if (auto hit = lookup(owner, version)) return hit;
  ATELIER_ASSIGN_OR_RETURN(auto items, load());
  // The wardrobe may have changed between the version and the read: key the
  // space by what was read.
  const WardrobeVersion read = version_of(items);
  auto space = StyleSpace::build(items);
  put(owner, read, space);
  return space;
}

std::shared_ptr<const StyleSpace> StyleCache::get(const std::string& owner,
                                                  const std::vector<Item>& items) {
  const WardrobeVersion v = version_of(items);
  if (auto hit = lookup(owner, v)) return hit;
  auto space = StyleSpace::build(items);
  put(owner, v, space);
  return space;
}

StyleCache::Stats StyleCache::stats() const {
  MutexLock lock(mu_);
  Stats s = stats_;
  for (const auto& [owner, e] : entries_) {
    s.vectors += e.space->size();
    s.bytes += e.space->bytes();
  }
  s.owners = entries_.size();
  return s;
}

std::shared_ptr<const StyleSpace> StyleCache::peek(const std::string& owner) const {
  MutexLock lock(mu_);
  const auto it = entries_.find(owner);
  return it == entries_.end() ? nullptr : it->second.space;
}

void StyleCache::forget(const std::string& owner) {
  MutexLock lock(mu_);
  const auto it = entries_.find(owner);
  if (it == entries_.end()) return;
  lru_.erase(it->second.lru);
  entries_.erase(it);
}

}  // namespace atelier::wardrobe
