#include "text/analyzer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>

namespace atelier::text {
namespace {

nlohmann::json golden() {
  std::ifstream in(std::string(ATELIER_SOURCE_DIR) + "/tests/golden/text_analysis.json");
  return nlohmann::json::parse(in);
}

std::string stopwords_file() {
  return std::string(ATELIER_SOURCE_DIR) + "/node_modules/stopwords-iso/stopwords-iso.json";
}

Analyzer make() {
  auto a = Analyzer::create(stopwords_file());
  EXPECT_TRUE(a.is_ok()) << a.status().message();
  return std::move(a).value();
}

TEST(TextGolden, SnowballStems) {
  auto a = make();
  int checked = 0;
  const auto g = golden();
  for (const auto& c : g["stems"]) {
    for (auto& [word, stem] : c["words"].items()) {
      auto r = a.analyze(word, c["language"]);
      ASSERT_TRUE(r.is_ok()) << r.status().message();
      ASSERT_EQ(r->tokens.size(), 1u) << word;
      EXPECT_EQ(r->tokens[0].stem, stem.get<std::string>()) << c["language"] << " " << word;
      ++checked;
    }
  }
  EXPECT_GT(checked, 60);
}

TEST(TextGolden, Syllables) {
  const auto g = golden();
  for (auto& [word, n] : g["syllables"].items())
    EXPECT_EQ(count_syllables(word), n.get<int>()) << word;
}

TEST(TextGolden, Complexity) {
  auto a = make();
  const auto g = golden();
  for (const auto& c : g["complexity"]) {
    auto r = a.analyze(c["text"].get<std::string>(), c["language"]);
    ASSERT_TRUE(r.is_ok());
    const auto& cx = r->complexity;
    EXPECT_EQ(cx.words, c["words"].get<int>());
    EXPECT_EQ(cx.sentences, c["sentences"].get<int>());
    EXPECT_EQ(cx.syllables, c["syllables"].get<int>());
    EXPECT_EQ(cx.unique_words, c["unique_words"].get<int>());
    EXPECT_NEAR(cx.mean_sentence_length, c["mean_sentence_length"].get<double>(), 1e-6);
    EXPECT_NEAR(cx.lexical_diversity, c["lexical_diversity"].get<double>(), 1e-6);
    EXPECT_NEAR(cx.flesch_reading_ease, c["flesch_reading_ease"].get<double>(), 1e-6);
    EXPECT_NEAR(cx.flesch_kincaid_grade, c["flesch_kincaid_grade"].get<double>(), 1e-6);
  }
}

TEST(TextGolden, TokensAcrossScripts) {
  auto a = make();
  const auto g = golden();
  for (const auto& c : g["tokens"]) {
    auto r = a.analyze(c["text"].get<std::string>(), c["language"]);
    ASSERT_TRUE(r.is_ok());
    if (c.contains("tokens")) {
      ASSERT_EQ(r->tokens.size(), c["tokens"].size()) << c["text"];
      for (std::size_t i = 0; i < r->tokens.size(); ++i) {
        EXPECT_EQ(r->tokens[i].text, c["tokens"][i][0].get<std::string>());
        EXPECT_EQ(token_type_name(r->tokens[i].type), c["tokens"][i][1].get<std::string>());
      }
    }
    if (c.contains("normalized")) {
      ASSERT_EQ(r->tokens.size(), c["normalized"].size());
      for (std::size_t i = 0; i < r->tokens.size(); ++i) {
        EXPECT_EQ(r->tokens[i].normalized, c["normalized"][i].get<std::string>());
      }
    }
  }
}

TEST(Text, OffsetsAreCodePoints) {
  auto a = make();
  auto r = a.analyze("héllo 👗 wörld", "english");
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->tokens.size(), 3u);
  EXPECT_EQ(r->tokens[0].start, 0);
  EXPECT_EQ(r->tokens[0].end, 5);
  EXPECT_EQ(r->tokens[1].start, 6);
  EXPECT_EQ(r->tokens[1].end, 7);
  EXPECT_EQ(r->tokens[2].start, 8);
  EXPECT_EQ(r->tokens[2].end, 13);
  // Bytes: "héllo" is 6 bytes, the emoji 4.
  EXPECT_EQ(r->tokens[0].byte_end, 6);
  EXPECT_EQ(r->tokens[1].byte_start, 7);
  EXPECT_EQ(r->tokens[1].byte_end, 11);
  EXPECT_EQ(std::string("héllo 👗 wörld")
                .substr(r->tokens[2].byte_start, r->tokens[2].byte_end - r->tokens[2].byte_start),
            "wörld");
}

TEST(Text, StopwordsAndSentences) {
  auto a = make();
  ASSERT_TRUE(a.has_stopwords());
  auto r = a.analyze("The dress is red. Is it silk?  Yes!", "english");
  ASSERT_TRUE(r.is_ok());
  ASSERT_EQ(r->sentences.size(), 3u);
  EXPECT_EQ(r->sentences[1].text, "Is it silk?");
  EXPECT_EQ(r->sentences[1].words, 3);
  EXPECT_TRUE(r->tokens[0].stopword);   // the
  EXPECT_FALSE(r->tokens[1].stopword);  // dress
  auto fr = a.analyze("Le manteau est très élégant", "fr");
  ASSERT_TRUE(fr.is_ok());
  EXPECT_EQ(fr->language, "french");
  EXPECT_TRUE(fr->tokens[0].stopword);
}

TEST(Text, RefusesBadInput) {
  auto a = make();
  EXPECT_EQ(a.analyze("ok", "klingon").status().code(), Code::invalid_argument);
  EXPECT_EQ(a.analyze(std::string("bad \xc3\x28 utf8"), "english").status().code(),
            Code::invalid_argument);
  EXPECT_EQ(a.analyze(std::string("\xed\xa0\x80"), "english").status().code(),
            Code::invalid_argument);  // surrogate
  auto empty = a.analyze("", "english");
  ASSERT_TRUE(empty.is_ok());
  EXPECT_TRUE(empty->tokens.empty());
  EXPECT_EQ(empty->complexity.words, 0);
}

TEST(Text, EveryShippedLanguageStems) {
  auto a = make();
  EXPECT_GE(a.languages().size(), 25u);
  for (const auto& l : a.languages()) {
    auto r = a.analyze("test", l.name);
    EXPECT_TRUE(r.is_ok()) << l.name;
  }
}

}  // namespace
}  // namespace atelier::text
