#include "wardrobe/compatibility.h"

#include <gtest/gtest.h>

#include <random>

namespace atelier::wardrobe {
namespace {

OutfitItem random_item(std::mt19937& rng, const std::string& category) {
  std::uniform_real_distribution<double> u(-60, 60), l(10, 95);
  OutfitItem o;
  o.category = category;
  o.palette = {{{l(rng), u(rng), u(rng)}, 0.7}, {{l(rng), u(rng), u(rng)}, 0.3}};
  o.embedding.resize(16);
  for (float& x : o.embedding) x = float(u(rng));
  o.formality = formalities()[rng() % 4];
  o.season = {seasons()[rng() % 4]};
  return o;
}

// Ranking reads pair terms from a cache; the features must be the same as
// computed afresh, to the bit, whatever order the outfits come in.
TEST(Compatibility, CachedPairTermsGiveIdenticalFeatures) {
  std::mt19937 rng(7);
  std::vector<OutfitItem> pool;
  std::vector<Item> stored;
  for (int i = 0; i < 24; ++i) {
    pool.push_back(random_item(rng, categories()[static_cast<std::size_t>(i) % 7]));
    Item it;
    it.id = "wi_" + std::to_string(i);
    it.auto_tags.category = {pool.back().category, 1.0};
    it.embedding = pool.back().embedding;
    stored.push_back(it);
  }
  // Style points too (every category has 3 or 4 items).
  const auto space = StyleSpace::build(stored);
  for (std::size_t i = 0; i < pool.size(); ++i) pool[i].style = outfit_item(stored[i], space).style;
  ASSERT_TRUE(pool[0].style);
  PairCache cache;
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<const OutfitItem*> outfit;
    const int n = 2 + int(rng() % 5);
    for (int k = 0; k < n; ++k) outfit.push_back(&pool[rng() % pool.size()]);
    const auto fresh = features(outfit).values();
    const auto cached = features(outfit, &cache).values();
    EXPECT_EQ(fresh, cached);
    EXPECT_TRUE(features(outfit).styled);
  }
}

TEST(Compatibility, StructureKnowsAWearableOutfit) {
  std::mt19937 rng(1);
  const auto top = random_item(rng, "top"), bottom = random_item(rng, "bottom"),
             dress = random_item(rng, "dress"), shoes = random_item(rng, "footwear"),
             shoes2 = random_item(rng, "footwear");
  EXPECT_EQ(features(std::vector<OutfitItem>{top, bottom, shoes}).structure, 1.0);
  EXPECT_EQ(features(std::vector<OutfitItem>{dress, shoes}).structure, 1.0);
  EXPECT_LT(features(std::vector<OutfitItem>{top, bottom, shoes, shoes2}).structure, 1.0);
  EXPECT_LT(features(std::vector<OutfitItem>{dress, bottom}).structure, 1.0);
  EXPECT_LT(features(std::vector<OutfitItem>{top, shoes}).structure, 1.0);
}

}  // namespace
}  // namespace atelier::wardrobe
