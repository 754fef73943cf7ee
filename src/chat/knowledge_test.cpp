// Golden test: the style knowledge base built from Debian's wordnet-base holds
// every passage of the glossary fixture (../shared/data/kb, built from the
// same package), word for word.
#include "chat/knowledge.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>

namespace atelier::chat {
namespace {

TEST(StyleGlossary, HoldsEveryPassageOfTheFixtureWordForWord) {
  const std::string fixture =
      std::string(ATELIER_SOURCE_DIR) + "/../shared/data/kb/wordnet_style_glossary.jsonl";
  if (!std::filesystem::exists(kWordNetNouns) || !std::filesystem::exists(fixture))
    GTEST_SKIP() << "needs wordnet-base and ../shared/data/kb";
  auto built = build_style_glossary(kWordNetNouns);
  ASSERT_TRUE(built.is_ok()) << built.status().message();
  std::map<std::string, const Passage*> by_id;
  for (const auto& p : *built) by_id[p.id] = &p;
  std::ifstream in(fixture);
  std::string line;
  int checked = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line);
    const auto it = by_id.find(j["id"].get<std::string>());
    ASSERT_NE(it, by_id.end()) << j["id"];
    const Passage& p = *it->second;
    EXPECT_EQ(p.title, j["title"]);
    EXPECT_EQ(p.synonyms, j["synonyms"].get<std::vector<std::string>>());
    EXPECT_EQ(p.topic, j["topic"]) << p.id;
    EXPECT_EQ(p.hypernym, j["hypernym"]) << p.id;
    EXPECT_EQ(p.gloss, j["gloss"]) << p.id;
    EXPECT_EQ(p.text, j["text"]) << p.id;
    ++checked;
  }
  EXPECT_EQ(checked, 1558);
  EXPECT_GE(built->size(), 1558u);
  EXPECT_LE(built->size(), 1700u) << "only the style domains";
}

TEST(StyleGlossary, RefusesWhatIsNotWordNet) {
  const auto dir = std::filesystem::temp_directory_path() / "atelier-not-wordnet";
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "data.noun") << "hello world\n";
  EXPECT_EQ(build_style_glossary((dir / "data.noun").string()).status().code(),
            Code::invalid_argument);
  EXPECT_EQ(build_style_glossary((dir / "missing").string()).status().code(), Code::not_found);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace atelier::chat
