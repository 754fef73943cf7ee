// How alike two items look beyond what every item of their category shares,
// measured within one wardrobe.
//
// MobileNetV2 embeddings of product photos mostly say what an item is: every
// shoe looks like every other shoe, so the raw cosine of a shoe and a bag says
// little about whether they go together. Centred on their category's mean in
// the owner's wardrobe and normalised again, what is left is the item's own
// look (colour, material, finish, styling). Each item's "hubness" towards a
// category (the mean of its 10 highest similarities there) is then taken off
// its pairs: cross-domain similarity local scaling (CSLS, Conneau et al.,
// "Word translation without parallel data", 2018), so that an item that
// resembles everything does not top every ranking.
//
// On the MANGO outfits fixture (bench_fit_outfits, held-out third) this moved
// fill recall@10 from 0.26 to the figures in compatibility.cpp's weights.
//
// Thread safety: a StyleSpace is immutable once built; share it freely.
// StyleCache is thread-safe.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"
#include "wardrobe/item.h"

namespace atelier::wardrobe {

// Where an item sits in its owner's style space.
struct StylePoint {
  std::vector<float> vec;                   // centred on its category, L2-normalised
  std::array<float, kCategoryCount> hub{};  // mean of its 10 best similarities, per category
};

// A pair's style similarity: the cosine of their centred vectors less half
// of each one's hubness towards the other's category.
double style_similarity(const StylePoint& a, int category_a, const StylePoint& b, int category_b);

class StyleSpace {
 public:
  static constexpr std::size_t kMinPerCategory = 3;  // fewer: no mean worth centring on
  static constexpr std::size_t kNeighbours = 10;

  // From the items with embeddings (those of the most common size); items of
  // a category with fewer than kMinPerCategory of them get no point.
  static std::shared_ptr<const StyleSpace> build(const std::vector<Item>& items);

  // An item of the space, by id; nullptr when it has no point.
  const StylePoint* find(const std::string& id) const;
  // An item outside the space (a photo sent inline): nullopt when its
  // category has no mean here or the embedding's size differs.
  std::optional<StylePoint> place(const std::string& category,
                                  const std::vector<float>& embedding) const;

  std::size_t size() const { return points_.size(); }
  std::size_t dimensions() const { return dims_; }
  std::size_t bytes() const;
  double build_ms() const { return build_ms_; }

 private:
  std::size_t dims_ = 0;
  std::array<std::vector<float>, kCategoryCount> mean_;  // empty: too few items
  // Centred, normalised rows of each category (for hubness of new items).
  std::array<std::vector<float>, kCategoryCount> rows_;
  std::vector<StylePoint> points_;
  std::unordered_map<std::string, std::size_t> index_;
  double build_ms_ = 0;
};

// A wardrobe's version as the repository reports it (ItemRepository::version):
// it changes with every add, edit and delete.
struct WardrobeVersion {
  std::int64_t items = 0;
  std::int64_t updated_sum = 0;  // sum of the items' updated_at
  bool operator==(const WardrobeVersion&) const = default;
};
WardrobeVersion version_of(const std::vector<Item>& items);

// Each owner's style space, kept while their wardrobe's version is unchanged
// (so a change made through any replica is seen by the next request); the
// least recently used owners are dropped beyond `capacity`.
class StyleCache {
 public:
  explicit StyleCache(std::size_t capacity = 64) : capacity_(capacity) {}

  // The owner's space at `version`; `load` reads the wardrobe on a miss.
  Result<std::shared_ptr<const StyleSpace>> get(
      const std::string& owner, const WardrobeVersion& version,
      const std::function<Result<std::vector<Item>>()>& load);
  // The same, from a wardrobe already read.
  std::shared_ptr<const StyleSpace> get(const std::string& owner, const std::vector<Item>& items);

  struct Stats {
    std::size_t owners = 0, vectors = 0, bytes = 0;
    std::uint64_t builds = 0, hits = 0;
    double build_ms_total = 0;
  };
  Stats stats() const;
  // The owner's cached space, if any (for /v1/index/stats).
  std::shared_ptr<const StyleSpace> peek(const std::string& owner) const;
  // Drops the owner's space (account deletion).
  void forget(const std::string& owner);

 private:
  struct Entry {
    WardrobeVersion version;
    std::shared_ptr<const StyleSpace> space;
    std::list<std::string>::iterator lru;
  };
  std::shared_ptr<const StyleSpace> lookup(const std::string& owner, const WardrobeVersion& v)
      EXCLUDES(mu_);
  void put(const std::string& owner, const WardrobeVersion& v,
           std::shared_ptr<const StyleSpace> space) EXCLUDES(mu_);

  const std::size_t capacity_;
  mutable Mutex mu_;
  std::unordered_map<std::string, Entry> entries_ GUARDED_BY(mu_);
  std::list<std::string> lru_ GUARDED_BY(mu_);  // most recent first
  Stats stats_ GUARDED_BY(mu_);
};

}  // namespace atelier::wardrobe
