#include <gtest/gtest.h>
#include <cmath>
#include <set>

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

#include <random>

#include "search/hnsw_index.h"

namespace atelier::search {
namespace {

// Clustered unit vectors: random-normal ones defeat every approximate index.
std::vector<std::vector<float>> clustered(int n, int dim, int clusters, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0, 1);
  std::vector<std::vector<float>> centres(static_cast<std::size_t>(clusters),
                                          std::vector<float>(static_cast<std::size_t>(dim)));
  for (auto& c : centres)
    for (auto& x : c) x = g(rng);
  std::vector<std::vector<float>> out;
  for (int i = 0; i < n; ++i) {
    std::vector<float> v = centres[static_cast<std::size_t>(i % clusters)];
    for (auto& x : v) x += 0.35f * g(rng);
    float norm = 0;
    for (float x : v) norm += x * x;
    norm = std::sqrt(norm);
    for (auto& x : v) x /= norm;
    out.push_back(std::move(v));
  }
  return out;
}

TEST(HnswIndex, RecallAt10AgainstExactSearch) {
  const int n = 20000, dim = 48;
  auto data = clustered(n, dim, 200, 7);
  FlatIndex flat(dim);
  auto hnsw = make_hnsw_index(dim);
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(flat.upsert("v" + std::to_string(i), data[static_cast<std::size_t>(i)]).is_ok());
    ASSERT_TRUE(hnsw->upsert("v" + std::to_string(i), data[static_cast<std::size_t>(i)]).is_ok());
  }
  EXPECT_EQ(hnsw->size(), static_cast<std::size_t>(n));
  EXPECT_EQ(hnsw->kind(), "hnsw");
  auto queries = clustered(200, dim, 200, 99);
  double recall = 0;
  for (const auto& q : queries) {
    auto exact = flat.search(q, 10, {});
    auto approx = hnsw->search(q, 10, {});
    std::set<std::string> truth;
    for (auto& h : exact) truth.insert(h.id);
    int hit = 0;
    for (auto& h : approx) hit += truth.count(h.id) ? 1 : 0;
    recall += hit / 10.0;
  }
  recall /= static_cast<double>(queries.size());
  EXPECT_GE(recall, 0.95) << "recall@10 " << recall;
}

TEST(HnswIndex, UpdateDeleteReaddAndFilter) {
  auto idx = make_hnsw_index(2);
  ASSERT_TRUE(idx->upsert("east", {1, 0}).is_ok());
  ASSERT_TRUE(idx->upsert("north", {0, 1}).is_ok());
  ASSERT_TRUE(idx->upsert("ne", {0.7071f, 0.7071f}).is_ok());
  EXPECT_EQ(idx->search({1, 0}, 1, {})[0].id, "east");
  EXPECT_NEAR(idx->search({1, 0}, 1, {})[0].score, 1.0, 1e-5);
  idx->remove("east");
  EXPECT_EQ(idx->size(), 2u);
  EXPECT_EQ(idx->search({1, 0}, 1, {})[0].id, "ne");
  ASSERT_TRUE(idx->upsert("east", {1, 0}).is_ok());  // re-add after delete
  EXPECT_EQ(idx->search({1, 0}, 1, {})[0].id, "east");
  ASSERT_TRUE(idx->upsert("east", {-1, 0}).is_ok());  // update in place
  EXPECT_EQ(idx->search({1, 0}, 1, {})[0].id, "ne");
  auto f = idx->search({1, 0}, 3, [](const std::string& id) { return id == "north"; });
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].id, "north");
  for (int i = 0; i < 3000; ++i)
    ASSERT_TRUE(idx->upsert("x" + std::to_string(i), {0.1f, 1}).is_ok());  // grows past capacity
  EXPECT_EQ(idx->size(), 3003u);
}

}  // namespace
}  // namespace atelier::search

namespace atelier::search {
namespace {

TEST(Highlight, DensestWindowMarkedAndEscaped) {
  auto analyzer = std::move(text::Analyzer::create("")).value();
  const std::string text =
      "Intro words come first here. A <red> dress & a red coat for running runners. Then many "
      "unrelated closing words "
      "follow on and on until the end.";
  auto s = highlight(analyzer, text, {"red", "run"}, 8);
  // The densest 8-token window starts at the first "red"; text between
  // tokens is escaped, matches (by stem) are marked.
  EXPECT_EQ(s, "…<b>red</b>&gt; dress &amp; a <b>red</b> coat for <b>running</b>…");
  EXPECT_EQ(s.find("<red>"), std::string::npos) << "document markup never passes through";
  auto none = highlight(analyzer, "short text", {"absent"}, 16);
  EXPECT_EQ(none, "short text");
  EXPECT_EQ(highlight(analyzer, "", {"x"}, 16), "");

  // A long document: only the dense region is analysed, with the same result
  // as the whole-text pass would give there.
  std::string filler;
  for (int i = 0; i < 120; ++i) filler += "lorem ipsum dolor ";
  const std::string longer =
      filler + "Studies of happiness: happy runners study running daily. " + filler;
  auto l = highlight(analyzer, longer, {"studi", "happi", "run"}, 8);
  // (Porter: happiness -> happi, runners -> runner.)
  EXPECT_EQ(l,
            "…dolor <b>Studies</b> of <b>happiness</b>: <b>happy</b> runners <b>study</b> "
            "<b>running</b>…");
  EXPECT_EQ(l,
            highlight(analyzer, longer.substr(filler.size() - 6, 80), {"studi", "happi", "run"}, 8)
                .insert(0, "…"));
}

}  // namespace
}  // namespace atelier::search

#include "search/ivf_index.h"

namespace atelier::search {
namespace {

TEST(IvfIndex, RecallAt10UpsertRemoveAndFilter) {
  const int n = 20000, dim = 32;
  auto data = clustered(n, dim, 200, 11);
  std::vector<float> train;
  for (const auto& v : data) train.insert(train.end(), v.begin(), v.end());
  auto made = make_ivf_index(dim, train, {0, 32});
  ASSERT_TRUE(made.is_ok()) << made.status().message();
  auto& ivf = made.value();
  EXPECT_EQ(ivf->kind(), "ivf");
  FlatIndex flat(dim);
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(flat.upsert("v" + std::to_string(i), data[std::size_t(i)]).is_ok());
    ASSERT_TRUE(ivf->upsert("v" + std::to_string(i), data[std::size_t(i)]).is_ok());
  }
  EXPECT_EQ(ivf->size(), std::size_t(n));
  auto queries = clustered(100, dim, 200, 5);
  double recall = 0;
  for (const auto& q : queries) {
    auto exact = flat.search(q, 10, {});
    auto approx = ivf->search(q, 10, {});
    std::set<std::string> truth;
    for (auto& h : exact) truth.insert(h.id);
    for (auto& h : approx) recall += truth.count(h.id) ? 0.1 : 0;
  }
  recall /= double(queries.size());
  EXPECT_GE(recall, 0.95);

  // Replace moves the point; remove takes it out; filters run inside the scan.
  ASSERT_TRUE(ivf->upsert("v0", data[1]).is_ok());
  EXPECT_EQ(ivf->size(), std::size_t(n));
  auto top = ivf->search(data[1], 2, {});
  std::set<std::string> ids{top[0].id, top[1].id};
  EXPECT_TRUE(ids.count("v0") && ids.count("v1"));
  ivf->remove("v1");
  EXPECT_EQ(ivf->size(), std::size_t(n - 1));
  EXPECT_NE(ivf->search(data[1], 1, {})[0].id, "v1");
  auto only_even = ivf->search(
      data[3], 10, [](const std::string& id) { return std::stoi(id.substr(1)) % 2 == 0; });
  ASSERT_FALSE(only_even.empty());
  for (auto& h : only_even) EXPECT_EQ(std::stoi(h.id.substr(1)) % 2, 0);

  // Saved and read back: same answers, removed ids stay removed, and it takes upserts.
  const std::string path = ::testing::TempDir() + "ivf_roundtrip.faiss";
  std::vector<std::string> labels;
  ASSERT_TRUE(ivf->save(path, &labels).is_ok());
  auto back = load_ivf_index(path, dim, labels, 32);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(back.value()->size(), ivf->size());
  auto a = ivf->search(data[7], 10, {});
  auto b = back.value()->search(data[7], 10, {});
  ASSERT_EQ(a.size(), b.size());
  for (std::size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].id, b[i].id);
  EXPECT_NE(back.value()->search(data[1], 1, {})[0].id, "v1");
  ASSERT_TRUE(back.value()->upsert("new", data[9]).is_ok());
  EXPECT_EQ(back.value()->size(), ivf->size() + 1);
}

}  // namespace
}  // namespace atelier::search
