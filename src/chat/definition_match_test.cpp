#include "chat/definition_match.h"

#include <gtest/gtest.h>

#include <map>

namespace atelier::chat {
namespace {

// Words as fixed unit vectors: "cloak" and "mantle" near each other, every
// other word on its own axis (a test double for the text model).
class TableEmbedder final : public engines::TextEmbedder {
 public:
  const std::string& model() const override { return model_; }
  int dimensions() const override { return 8; }
  Result<engines::Embeddings> embed(const std::vector<std::string>& texts,
                                    const WorkContext&) const override {
    engines::Embeddings out;
    for (const auto& t : texts) {
      std::vector<float> v(8, 0.0F);
      if (t == "cloak") {
        v[0] = 1;
      } else if (t == "mantle") {
        v[0] = 0.8F;
        v[1] = 0.6F;
      } else {
        v[2 + std::hash<std::string>{}(t) % 6] = 1;
      }
      out.vectors.push_back(std::move(v));
    }
    return out;
  }

 private:
  std::string model_ = "table";
};

Passage passage(std::string id, const std::string& title, const std::string& gloss) {
  Passage p;
  p.id = std::move(id);
  p.title = title;
  p.gloss = gloss;
  p.text = title + ": " + gloss;
  return p;
}

TEST(DefinitionMatcher, RanksTheDefinitionTheDescriptionGivesAboveTheWordsItUses) {
  const auto analyzer = std::move(text::Analyzer::create("")).value();
  const TableEmbedder embedder;
  const std::vector<Passage> kb = {
      passage("alb", "alb", "a white linen liturgical vestment with sleeves worn by priests"),
      passage("linen", "linen", "a fabric woven with fibers from the flax plant"),
      passage("vestment", "vestment", "gown worn by the clergy"),
      passage("pallium", "pallium", "mantle worn by men in ancient Rome"),
      passage("tweed", "tweed", "thick woolen fabric")};
  auto m = DefinitionMatcher::build(kb, analyzer, embedder, WorkContext{});
  ASSERT_TRUE(m.is_ok()) << m.status().message();
  // Retrieved in the order that misleads: the words the question uses first.
  auto s = (*m)->score("Which word means: a white linen vestment with sleeves worn by priests?",
                       {"linen", "vestment", "alb"}, WorkContext{});
  ASSERT_TRUE(s.is_ok());
  ASSERT_EQ(s->size(), 3u);
  EXPECT_GT((*s)[2], (*s)[0]);
  EXPECT_GT((*s)[2], (*s)[1]);
  // A word the definition lacks counts by its nearest there: "cloak" meets
  // "mantle", so the pallium passes tweed though retrieved after it.
  s = (*m)->score("the word for a cloak", {"tweed", "pallium"}, WorkContext{});
  ASSERT_TRUE(s.is_ok());
  EXPECT_GT((*s)[1], (*s)[0]);
  // An id that is not a passage scores by its rank alone; an empty
  // description too.
  s = (*m)->score("", {"nothing", "alb"}, WorkContext{});
  ASSERT_TRUE(s.is_ok());
  EXPECT_GT((*s)[0], (*s)[1]);
}

}  // namespace
}  // namespace atelier::chat
