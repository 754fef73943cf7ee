#include "embed/glove_sif.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>

namespace atelier::embed {
namespace {

// Writes a word-vector file in the converter's format.
std::string write_vectors(const std::string& name, const std::vector<std::string>& words,
                          const std::vector<std::vector<float>>& vecs,
                          const std::vector<float>& common) {
  std::string path = ::testing::TempDir() + name;
  std::ofstream out(path, std::ios::binary);
  const std::uint32_t n = static_cast<std::uint32_t>(words.size()),
                      dim = static_cast<std::uint32_t>(common.size());
  out.write("ATLWVEC1", 8);
  out.write(reinterpret_cast<const char*>(&n), 4);
  out.write(reinterpret_cast<const char*>(&dim), 4);
  std::size_t off = 16;
  for (const auto& w : words) {
    const std::uint16_t len = static_cast<std::uint16_t>(w.size());
    out.write(reinterpret_cast<const char*>(&len), 2);
    out.write(w.data(), len);
    off += 2 + len;
  }
  while (off % 4) {
    out.put('\0');
    ++off;
  }
  for (const auto& v : vecs) out.write(reinterpret_cast<const char*>(v.data()), 4 * dim);
  out.write(reinterpret_cast<const char*>(common.data()), 4 * dim);
  return path;
}

text::Analyzer analyzer() {
  return std::move(text::Analyzer::create("")).value();
}

TEST(GloveSif, WeightedMeanMinusCommonComponentNormalised) {
  auto path = write_vectors("sif.bin", {"the", "red", "dress"}, {{1, 0}, {1, 2}, {3, 1}}, {1, 0});
  auto wv = WordVectors::open(path);
  ASSERT_TRUE(wv.is_ok()) << wv.status().message();
  auto an = analyzer();
  GloveSifEmbedder e("test", std::move(wv).value(), an);
  EXPECT_EQ(e.dimensions(), 2);
  // Frequent words weigh less: a / (a + p), p from the Zipf rank.
  EXPECT_LT(e.weight(0), e.weight(1));
  EXPECT_LT(e.weight(1), e.weight(2));
  const double H = 1 + 0.5 + 1.0 / 3;
  EXPECT_NEAR(e.weight(1), 1e-3 / (1e-3 + 1.0 / (2 * H)), 1e-12);

  auto out = e.embed({"Red DRESS!", "the", "unknown words only"}, {});
  ASSERT_TRUE(out.is_ok());
  // mean = (w1*(1,2) + w2*(3,1)) / 2; removing the (1,0) component leaves
  // (0, w1*2 + w2*1) / 2, which normalises to (0, 1).
  EXPECT_NEAR(out->vectors[0][0], 0.0, 1e-6);
  EXPECT_NEAR(out->vectors[0][1], 1.0, 1e-6);
  // "the" lies on the common component: nothing is left, so zeros.
  EXPECT_EQ(out->vectors[1], std::vector<float>({0, 0}));
  EXPECT_EQ(out->vectors[2], std::vector<float>({0, 0}));
  EXPECT_EQ(out->tokens, 2 + 1 + 3);
}

TEST(GloveSif, CancelledWorkStops) {
  auto path = write_vectors("sif2.bin", {"a"}, {{1, 1}}, {1, 0});
  auto an = analyzer();
  GloveSifEmbedder e("test", std::move(WordVectors::open(path)).value(), an);
  CancelSource gone;
  gone.cancel();
  EXPECT_EQ(e.embed({"a"}, {Deadline::never(), gone.token()}).status().code(), Code::cancelled);
}

TEST(WordVectorsFile, RefusesCorruptFiles) {
  std::string path = ::testing::TempDir() + "bad.bin";
  std::ofstream(path) << "NOTAFILE12345678";
  EXPECT_EQ(WordVectors::open(path).status().code(), Code::invalid_argument);
  auto good = write_vectors("trunc.bin", {"x", "y"}, {{1, 2}, {3, 4}}, {0, 1});
  std::ifstream in(good, std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), {});
  std::ofstream(good, std::ios::binary | std::ios::trunc) << bytes.substr(0, bytes.size() - 4);
  EXPECT_EQ(WordVectors::open(good).status().code(), Code::invalid_argument);
  EXPECT_EQ(WordVectors::open("/nonexistent/vectors.bin").status().code(), Code::unavailable);
}

}  // namespace
}  // namespace atelier::embed
