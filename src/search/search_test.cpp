#include <gtest/gtest.h>

#include "search/fusion.h"
#include "search/service.h"
#include "search/vector_index.h"

namespace atelier::search {
namespace {

TEST(Fusion, ReciprocalRankFusionByHand) {
  // k = 60: a is 1st in both sides: 1/61 + 1/61; b is 2nd then absent: 1/62;
  // c is absent then 2nd with weight 0.5: 0.5/62.
  auto out = reciprocal_rank_fusion({{{"a", "b"}, 1.0}, {{"a", "c"}, 0.5}}, 60);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].id, "a");
  EXPECT_NEAR(out[0].score, 1.0 / 61 + 0.5 / 61, 1e-12);
  EXPECT_EQ(out[0].ranks[0], 1);
  EXPECT_EQ(out[0].ranks[1], 1);
  EXPECT_EQ(out[1].id, "b");
  EXPECT_NEAR(out[1].score, 1.0 / 62, 1e-12);
  EXPECT_FALSE(out[1].ranks[1].has_value());
  EXPECT_EQ(out[2].id, "c");
  EXPECT_NEAR(out[2].score, 0.5 / 62, 1e-12);
}

TEST(Fusion, TiesBreakByIdAndDuplicatesCountOnce) {
  auto out = reciprocal_rank_fusion({{{"y", "x", "y"}, 1.0}, {{"x", "y"}, 1.0}}, 1);
  ASSERT_EQ(out.size(), 2u);
  // x: 1/3 + 1/2, y: 1/2 + 1/3 -> equal scores; "x" < "y".
  EXPECT_EQ(out[0].id, "x");
  EXPECT_NEAR(out[0].score, out[1].score, 1e-12);
  EXPECT_EQ(out[1].ranks[0], 1);  // y keeps its best rank on side 0
  EXPECT_TRUE(reciprocal_rank_fusion({}, 60).empty());
}

TEST(FlatIndex, ExactTopKWithReplaceRemoveAndFilter) {
  FlatIndex idx(2);
  ASSERT_TRUE(idx.upsert("east", {1, 0}).is_ok());
  ASSERT_TRUE(idx.upsert("north", {0, 1}).is_ok());
  ASSERT_TRUE(idx.upsert("northeast", {0.7071f, 0.7071f}).is_ok());
  EXPECT_FALSE(idx.upsert("bad", {1, 2, 3}).is_ok());
  auto hits = idx.search({1, 0}, 2, {});
  ASSERT_EQ(hits.size(), 2u);
  EXPECT_EQ(hits[0].id, "east");
  EXPECT_EQ(hits[1].id, "northeast");
  EXPECT_NEAR(hits[1].score, 0.7071, 1e-4);
  ASSERT_TRUE(idx.upsert("east", {-1, 0}).is_ok());  // replace
  EXPECT_EQ(idx.search({1, 0}, 1, {})[0].id, "northeast");
  idx.remove("northeast");
  EXPECT_EQ(idx.size(), 2u);
  EXPECT_EQ(idx.search({1, 0}, 1, {})[0].id, "north");
  auto filtered = idx.search({0, 1}, 5, [](const std::string& id) { return id != "north"; });
  ASSERT_EQ(filtered.size(), 1u);
  EXPECT_EQ(filtered[0].id, "east");
  idx.remove("missing");  // no-op
  EXPECT_TRUE(idx.search({0, 1}, 0, {}).empty());
}

TEST(Metadata, ScalarFieldsMatchTheStoresTextForms) {
  auto f = scalar_fields(R"({"s":"x","n":120,"f":1.5,"b":true,"o":{"k":1},"a":[1]})");
  EXPECT_EQ(f.at("s"), "x");
  EXPECT_EQ(f.at("n"), "120");
  EXPECT_EQ(f.at("f"), "1.5");
  EXPECT_EQ(f.at("b"), "1");
  EXPECT_FALSE(f.count("o"));
  EXPECT_FALSE(f.count("a"));
  EXPECT_TRUE(scalar_fields("not json").empty());
}

}  // namespace
}  // namespace atelier::search
