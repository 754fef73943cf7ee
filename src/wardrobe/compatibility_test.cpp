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

// Issue 26: an outfit below "goes well together" is told what lowers it, and
// that is the feature that costs its score most, named with its items.
OutfitItem plain(const std::string& category, const std::string& label, double l, double a,
                 double b) {
  OutfitItem o;
  o.category = category;
  o.label = label;
  o.palette = {{{l, a, b}, 1.0}};
  return o;
}

TEST(Compatibility, TheExplanationNamesWhatLowersTheScore) {
  CompatWeights w;  // a few features decide
  w.bias = -5;
  // Colour: a top and a bottom in opposite colours (palette costs most).
  w.w = {};
  w.w[0] = 4;  // palette
  w.w[5] = 1;  // structure
  auto e = evaluate(
      {plain("top", "the red top", 50, 70, 50), plain("bottom", "the teal skirt", 50, -60, -20)},
      w);
  ASSERT_LT(e.score, 0.6);
  EXPECT_EQ(e.lowered_by, "palette");
  ASSERT_FALSE(e.explanation.empty());
  EXPECT_EQ(e.explanation[0],
            "What lowers the score most: the red top and the teal skirt have the least colour in "
            "common.");
  // Structure: two bottoms of one colour (the palette is perfect).
  e = evaluate(
      {plain("bottom", "the jeans", 40, 0, -30), plain("bottom", "the chinos", 40, 0, -30)}, w);
  EXPECT_EQ(e.lowered_by, "structure");
  EXPECT_EQ(e.explanation[0],
            "What lowers the score most: the pieces do not make one wearable outfit.");
  // Style counts only when known: without style points it is never the reason.
  w.w[7] = 30;
  w.bias = -20;
  e = evaluate(
      {plain("bottom", "the jeans", 40, 0, -30), plain("bottom", "the chinos", 40, 0, -30)}, w);
  EXPECT_EQ(e.lowered_by, "structure");
  // An outfit that goes well together has no such sentence.
  w = CompatWeights{};
  w.bias = 5;
  e = evaluate({plain("top", "the red top", 50, 70, 50), plain("bottom", "the jeans", 40, 0, -30)},
               w);
  EXPECT_EQ(e.verdict, "goes well together");
  EXPECT_TRUE(e.lowered_by.empty());
  for (const auto& line : e.explanation) EXPECT_EQ(line.find("What lowers"), std::string::npos);
}

}  // namespace
}  // namespace atelier::wardrobe
