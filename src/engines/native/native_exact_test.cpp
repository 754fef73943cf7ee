// Proof of exactness for the native encoders. tools/make-transformer-fixtures.py
// (run by ctest as the `transformers` fixture) writes small random-weight BERT
// and CLIP checkpoints in Hugging Face's layout, token ids derived in Python
// from the published tokenizer algorithms, CLIP pixels preprocessed with PIL,
// and the outputs of a reference forward written with torch.nn operations.
// Here the same files go through atelier's loaders and must agree.
#include <gtest/gtest.h>

#include <opencv2/imgcodecs.hpp>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engines/native/bert.h"
#include "engines/native/clip.h"
#include "engines/native/encoders.h"
#include "tokenize/clip_bpe.h"
#include "tokenize/wordpiece.h"

namespace atelier::engines::native {
namespace {

namespace fs = std::filesystem;

const std::string& dir() {
  static const std::string d = [] {
    const char* e = std::getenv("ATELIER_FIXTURES");
    return std::string(e ? e : "");
  }();
  return d;
}

const nlohmann::json& ref() {
  static const nlohmann::json j = [] {
    std::ifstream in(dir() + "/reference.json");
    return nlohmann::json::parse(in);
  }();
  return j;
}

constexpr double kTol = 1e-4;

double max_abs(const std::vector<float>& a, const nlohmann::json& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    m = std::max(m, std::abs(a[i] - b[i].get<double>()));
  return m;
}

class Exact : public ::testing::Test {
 protected:
  void SetUp() override {
    if (dir().empty() || !fs::exists(dir() + "/reference.json"))
      GTEST_FAIL() << "ATELIER_FIXTURES must name the output of tools/make-transformer-fixtures.py";
  }
};

TEST_F(Exact, WordPieceIdsMatchThePublishedAlgorithm) {
  auto opt =
      tokenize::WordPiece::options_from_config(dir() + "/bert-tiny/tokenizer_config.json", {});
  ASSERT_TRUE(opt.is_ok());
  auto wp = tokenize::WordPiece::load(dir() + "/bert-tiny/vocab.txt", *opt);
  ASSERT_TRUE(wp.is_ok()) << wp.status().message();
  const auto& texts = ref()["texts"];
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto e = (*wp)->encode(texts[i].get<std::string>());
    EXPECT_EQ(e.ids, ref()["bert_ids"][i].get<std::vector<std::int32_t>>()) << texts[i];
  }
  // Truncation keeps [CLS] ... [SEP] within the limit.
  auto t = (*wp)->encode("word word word word word word", 5);
  EXPECT_EQ(t.ids, (std::vector<std::int32_t>{101, 2773, 2773, 2773, 102}));
  EXPECT_TRUE(t.truncated);
}

TEST_F(Exact, ClipBpeIdsMatchThePublishedAlgorithm) {
  auto bpe =
      tokenize::ClipBpe::load_simple_vocab(dir() + "/clip-tiny/bpe_simple_vocab_16e6.txt.gz");
  ASSERT_TRUE(bpe.is_ok()) << bpe.status().message();
  EXPECT_EQ((*bpe)->vocab_size(), 49408u);
  const auto& texts = ref()["texts"];
  for (std::size_t i = 0; i < texts.size(); ++i) {
    auto want = ref()["clip_ids"][i].get<std::vector<std::int32_t>>();
    if (want.size() > 77) {
      want.resize(76);
      want.push_back(49407);
    }
    EXPECT_EQ((*bpe)->encode(texts[i].get<std::string>()).ids, want) << texts[i];
  }
}

TEST_F(Exact, ClipBpeReadsTheHuggingFaceFormatToo) {
  // Write vocab.json + merges.txt from the original file and compare.
  auto simple =
      tokenize::ClipBpe::load_simple_vocab(dir() + "/clip-tiny/bpe_simple_vocab_16e6.txt.gz");
  ASSERT_TRUE(simple.is_ok());
  // Derive HF files with the same algorithm the Python fixture uses: the ids
  // of the whole test set must agree between the two loaders.
  const fs::path hf = fs::path(dir()) / "clip-hf-tokenizer";
  ASSERT_TRUE(fs::exists(hf / "vocab.json")) << "the fixture script writes " << hf;
  auto h = tokenize::ClipBpe::load_hf((hf / "vocab.json").string(), (hf / "merges.txt").string());
  ASSERT_TRUE(h.is_ok()) << h.status().message();
  for (auto& t : ref()["texts"]) EXPECT_EQ((*h)->encode(t).ids, (*simple)->encode(t).ids) << t;
}

TEST_F(Exact, BertHiddenStatesAndPooledVectors) {
  auto m =
      BertModel::load(dir() + "/bert-tiny/config.json", dir() + "/bert-tiny/model.safetensors");
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  const int H = (*m)->config().hidden;
  for (const auto& b : ref()["bert"]) {
    std::vector<std::vector<std::int32_t>> seqs;
    std::vector<int> lengths;
    for (const auto& i : b["batch"]) {
      seqs.push_back(ref()["bert_ids"][i.get<std::size_t>()].get<std::vector<std::int32_t>>());
      lengths.push_back(static_cast<int>(seqs.back().size()));
    }
    auto hidden = (*m)->forward(seqs);
    ASSERT_TRUE(hidden.is_ok());
    std::size_t row = 0;
    for (std::size_t s = 0; s < seqs.size(); ++s) {
      std::vector<float> mine(
          hidden->begin() + static_cast<std::ptrdiff_t>(row * H),
          hidden->begin() + static_cast<std::ptrdiff_t>((row + seqs[s].size()) * H));
      EXPECT_LT(max_abs(mine, b["hidden"][s]), kTol)
          << "batch of " << seqs.size() << ", sequence " << s;
      row += seqs[s].size();
    }
    auto pooled = pool(*hidden, H, lengths, Pooling::mean, true);
    for (std::size_t s = 0; s < seqs.size(); ++s)
      EXPECT_LT(max_abs(pooled[s], b["pooled"][s]), kTol);
  }
}

TEST_F(Exact, HalfPrecisionCheckpointsWithTaskPrefix) {
  for (std::string name : {"bert-tiny-f16", "bert-tiny-bf16"}) {
    auto m = load_hf_folder(dir() + "/" + name, name, {});
    ASSERT_TRUE(m.is_ok()) << m.status().message();
    auto e = m->text->embed({ref()["texts"][4].get<std::string>()}, WorkContext{});
    ASSERT_TRUE(e.is_ok()) << e.status().message();
    EXPECT_LT(max_abs(e->vectors[0], ref()[name]), kTol) << name;
  }
}

TEST_F(Exact, BertFolderThroughTheEmbedderInterface) {
  auto m = load_hf_folder(dir() + "/bert-tiny", "test/bert-tiny", {});
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  EXPECT_EQ(m->architecture, "bert");
  EXPECT_EQ(m->text->dimensions(), 64);
  std::vector<std::string> texts;
  for (auto& t : ref()["texts"]) texts.push_back(t);
  auto e = m->text->embed(texts, WorkContext{});
  ASSERT_TRUE(e.is_ok()) << e.status().message();
  const auto& all = ref()["bert"].back();
  for (std::size_t i = 0; i < texts.size(); ++i)
    EXPECT_LT(max_abs(e->vectors[i], all["pooled"][i]), kTol) << i;
}

TEST_F(Exact, ClipTextEmbeddings) {
  auto m =
      ClipModel::load(dir() + "/clip-tiny/config.json", dir() + "/clip-tiny/model.safetensors");
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  for (const auto& b : ref()["clip_text"]) {
    auto ids = b["ids"].get<std::vector<std::vector<std::int32_t>>>();
    auto out = (*m)->encode_text(ids, 49407);
    ASSERT_TRUE(out.is_ok());
    const std::size_t P = static_cast<std::size_t>((*m)->config().projection_dim);
    for (std::size_t s = 0; s < ids.size(); ++s) {
      std::vector<float> mine(out->begin() + static_cast<std::ptrdiff_t>(s * P),
                              out->begin() + static_cast<std::ptrdiff_t>((s + 1) * P));
      EXPECT_LT(max_abs(mine, b["embeds"][s]), kTol)
          << "batch of " << ids.size() << ", sequence " << s;
    }
  }
}

TEST_F(Exact, ClipImageEmbeddingsBatchedAndAlone) {
  auto m =
      ClipModel::load(dir() + "/clip-tiny/config.json", dir() + "/clip-tiny/model.safetensors");
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  const auto& ci = ref()["clip_image"];
  auto pixels = ci["pixels"].get<std::vector<float>>();
  const std::size_t n = ci["n"].get<std::size_t>(),
                    P = static_cast<std::size_t>((*m)->config().projection_dim);
  const std::size_t per = pixels.size() / n;
  auto all = (*m)->encode_image(pixels.data(), n);
  for (std::size_t i = 0; i < n; ++i) {
    std::vector<float> mine(all.begin() + static_cast<std::ptrdiff_t>(i * P),
                            all.begin() + static_cast<std::ptrdiff_t>((i + 1) * P));
    EXPECT_LT(max_abs(mine, ci["embeds"][i]), kTol) << "batched image " << i;
    auto one = (*m)->encode_image(pixels.data() + i * per, 1);
    EXPECT_LT(max_abs(one, ci["embeds_single"][i]), kTol) << "lone image " << i;
  }
}

TEST_F(Exact, ClipPreprocessingMatchesPil) {
  const auto& ci = ref()["clip_image"];
  auto pixels = ci["pixels"].get<std::vector<float>>();
  const std::size_t per = pixels.size() / ci["n"].get<std::size_t>();
  const int size = static_cast<int>(std::lround(std::sqrt(per / 3.0)));
  const char* shared = std::getenv("ATELIER_SHARED");
  const std::string root = shared ? shared : std::string(ATELIER_SOURCE_DIR) + "/../shared";
  for (std::size_t i = 0; i < ci["photos"].size(); ++i) {
    cv::Mat bgr = cv::imread(
        root + "/data/coco/images/val2017/" + ci["photos"][i].get<std::string>(), cv::IMREAD_COLOR);
    ASSERT_FALSE(bgr.empty());
    auto mine = clip_preprocess(bgr, size);
    ASSERT_EQ(mine.size(), per);
    // PIL accumulates in fixed point and libjpeg versions may differ by a
    // level, so allow one 8-bit step (1/255/std ~ 0.015) and demand that
    // almost every value is equal.
    double worst = 0, sum = 0;
    std::size_t off = 0;
    for (std::size_t k = 0; k < per; ++k) {
      const double d = std::abs(mine[k] - pixels[i * per + k]);
      worst = std::max(worst, d);
      sum += d;
      if (d > 1e-4) ++off;
    }
    EXPECT_LT(worst, 0.016) << ci["photos"][i];
    EXPECT_LT(static_cast<double>(off) / static_cast<double>(per), 0.02) << ci["photos"][i];
    EXPECT_LT(sum / static_cast<double>(per), 1e-3);
  }
}

TEST_F(Exact, ClipFolderServesTextAndImages) {
  auto m = load_hf_folder(dir() + "/clip-tiny", "test/clip-tiny", {});
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  ASSERT_TRUE(m->text && m->image);
  EXPECT_EQ(m->image->dimensions(), 32);
  auto e = m->text->embed({"hello world"}, WorkContext{});
  ASSERT_TRUE(e.is_ok());
  // Normalised version of the reference's lone "hello world" (text 1).
  auto want = ref()["clip_text"][1]["embeds"][0].get<std::vector<float>>();
  double norm = 0;
  for (float v : want) norm += double(v) * v;
  for (auto& v : want) v = static_cast<float>(v / std::sqrt(norm));
  nlohmann::json w = want;
  EXPECT_LT(max_abs(e->vectors[0], w), kTol);
}

TEST_F(Exact, MismatchedCheckpointsAreRefusedWithTheTensorNamed) {
  const fs::path bad = fs::path(dir()) / "bert-bad";
  fs::remove_all(bad);
  fs::copy(fs::path(dir()) / "bert-tiny", bad, fs::copy_options::recursive);
  auto cfg = nlohmann::json::parse(std::ifstream((bad / "config.json").string()));
  cfg["intermediate_size"] = 256;
  std::ofstream((bad / "config.json").string()) << cfg.dump();
  auto m = load_hf_folder(bad.string(), "bad", {});
  ASSERT_FALSE(m.is_ok());
  EXPECT_EQ(m.status().code(), Code::invalid_argument);
  EXPECT_NE(m.status().message().find("encoder.layer.0.intermediate.dense.weight"),
            std::string::npos)
      << m.status().message();
  EXPECT_NE(m.status().message().find("[128,64]"), std::string::npos) << m.status().message();
  EXPECT_NE(m.status().message().find("[256,64]"), std::string::npos) << m.status().message();

  cfg["intermediate_size"] = 128;
  cfg["num_hidden_layers"] = 3;
  std::ofstream((bad / "config.json").string()) << cfg.dump();
  m = load_hf_folder(bad.string(), "bad", {});
  ASSERT_FALSE(m.is_ok());
  EXPECT_NE(m.status().message().find("missing tensor 'encoder.layer.2."), std::string::npos)
      << m.status().message();
}

}  // namespace
}  // namespace atelier::engines::native
