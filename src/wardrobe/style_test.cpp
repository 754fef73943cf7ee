#include "wardrobe/style.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace atelier::wardrobe {
namespace {

// Items whose embeddings are their category's shared look plus their own.
std::vector<Item> wardrobe(std::mt19937& rng,
                           const std::vector<std::pair<std::string, int>>& counts,
                           std::size_t dims = 8) {
  std::normal_distribution<float> n(0, 1);
  std::vector<Item> items;
  for (const auto& [category, count] : counts) {
    std::vector<float> shared(dims);
    for (float& x : shared) x = 3 * n(rng);
    for (int i = 0; i < count; ++i) {
      Item it;
      it.id = category + std::to_string(i);
      it.auto_tags.category = {category, 1.0};
      it.embedding = shared;
      for (float& x : it.embedding) x += n(rng);
      items.push_back(it);
    }
  }
  return items;
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (std::size_t k = 0; k < a.size(); ++k) s += double(a[k]) * b[k];
  return s;
}

TEST(StyleSpace, CentresEachCategoryAndMeasuresHubnessByBruteForce) {
  std::mt19937 rng(3);
  const auto items = wardrobe(rng, {{"top", 5}, {"bottom", 14}, {"bag", 2}});
  const auto space = StyleSpace::build(items);
  EXPECT_EQ(space->size(), 19u) << "the two bags are too few to centre on";
  EXPECT_EQ(space->find("bag0"), nullptr);
  EXPECT_FALSE(space->place("bag", items.back().embedding));
  // Each point is unit length.
  for (int i = 0; i < 5; ++i) {
    const StylePoint* p = space->find("top" + std::to_string(i));
    ASSERT_NE(p, nullptr);
    EXPECT_NEAR(dot(p->vec, p->vec), 1.0, 1e-5);
  }
  // Hubness of top0 towards the bottoms: the mean of its 10 best of 14.
  const StylePoint* top0 = space->find("top0");
  std::vector<double> sims;
  for (int i = 0; i < 14; ++i)
    sims.push_back(dot(top0->vec, space->find("bottom" + std::to_string(i))->vec));
  std::sort(sims.rbegin(), sims.rend());
  double best10 = 0;
  for (int i = 0; i < 10; ++i) best10 += sims[static_cast<std::size_t>(i)] / 10;
  EXPECT_NEAR(top0->hub[static_cast<std::size_t>(category_index("bottom"))], best10, 1e-5);
  // Towards its own category, itself left out: the mean of the other 4.
  double others = 0;
  for (int i = 1; i < 5; ++i)
    others += dot(top0->vec, space->find("top" + std::to_string(i))->vec) / 4;
  EXPECT_NEAR(top0->hub[static_cast<std::size_t>(category_index("top"))], others, 1e-5);
  // A new photo of the same item lands where the item is.
  const auto placed = space->place("top", items[0].embedding);
  ASSERT_TRUE(placed);
  EXPECT_NEAR(dot(placed->vec, top0->vec), 1.0, 1e-5);
  // Symmetric to the bit.
  const StylePoint* b = space->find("bottom3");
  EXPECT_EQ(style_similarity(*top0, 0, *b, 1), style_similarity(*b, 1, *top0, 0));
}

TEST(StyleCache, KeepsASpaceUntilTheWardrobeChangesAndDropsTheLeastRecent) {
  std::mt19937 rng(5);
  auto items = wardrobe(rng, {{"top", 4}, {"bottom", 4}});
  for (auto& it : items) it.updated_at = 100;
  StyleCache cache(2);
  int loads = 0;
  auto load = [&] {
    ++loads;
    return Result<std::vector<Item>>(items);
  };
  const auto first = cache.get("ann", version_of(items), load);
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(cache.get("ann", version_of(items), load).value(), *first) << "same version: kept";
  EXPECT_EQ(loads, 1);
  items[0].updated_at = 101;  // an edit
  EXPECT_NE(cache.get("ann", version_of(items), load).value(), *first);
  EXPECT_EQ(loads, 2);
  EXPECT_EQ(cache.get("ann", items), cache.peek("ann")) << "from rows already read";
  (void)cache.get("bob", items);
  (void)cache.get("cat", items);  // capacity 2: ann, the least recent, goes
  EXPECT_EQ(cache.peek("ann"), nullptr);
  EXPECT_NE(cache.peek("bob"), nullptr);
  const auto s = cache.stats();
  EXPECT_EQ(s.owners, 2u);
  EXPECT_EQ(s.builds, 4u);
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.vectors, 16u);
}

}  // namespace
}  // namespace atelier::wardrobe
