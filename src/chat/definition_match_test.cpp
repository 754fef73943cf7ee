#include "chat/definition_match.h"

#include <gtest/gtest.h>

#include <map>

namespace atelier::chat {
namespace {

// Words as fixed unit vectors: "cloak" and "mantle" near each other, every
// other word on an axis of its own (a test double for the text model).
class TableEmbedder final : public engines::TextEmbedder {
 public:
  const std::string& model() const override { return model_; }
  int dimensions() const override { return kDim; }
  Result<engines::Embeddings> embed(const std::vector<std::string>& texts,
                                    const WorkContext&) const override {
    engines::Embeddings out;
    for (const auto& t : texts) {
      std::vector<float> v(kDim, 0.0F);
      if (t == "cloak") {
        v[0] = 1;
      } else if (t == "mantle") {
        v[0] = 0.8F;
        v[1] = 0.6F;
      } else {
        const auto axis = axes_.emplace(t, 2 + static_cast<int>(axes_.size()) % (kDim - 2)).first;
        v[static_cast<std::size_t>(axis->second)] = 1;
      }
      out.vectors.push_back(std::move(v));
    }
    return out;
  }

 private:
  static constexpr int kDim = 256;
  std::string model_ = "table";
  mutable std::map<std::string, int> axes_;  // single-threaded test
};

text::Analyzer analyzer_with_stopwords() {
  auto a = text::Analyzer::create(std::string(ATELIER_SOURCE_DIR) +
                                  "/node_modules/stopwords-iso/stopwords-iso.json");
  EXPECT_TRUE(a.is_ok()) << a.status().message();
  return std::move(a).value();
}

Passage passage(std::string id, const std::string& title, const std::string& gloss) {
  Passage p;
  p.id = std::move(id);
  p.title = title;
  p.gloss = gloss;
  p.text = title + ": " + gloss;
  return p;
}

TEST(DefinitionMatcher, RanksTheDefinitionTheDescriptionGivesAboveTheWordsItUses) {
  const auto analyzer = analyzer_with_stopwords();
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
  ASSERT_EQ(s->score.size(), 3u);
  EXPECT_GT(s->score[2], s->score[0]);
  EXPECT_GT(s->score[2], s->score[1]);
  EXPECT_DOUBLE_EQ(s->best_cover, 1.0);  // alb's definition has every word
  // A word the definition lacks counts by its nearest there: "cloak" meets
  // "mantle", so the pallium passes tweed though retrieved after it.
  s = (*m)->score("the word for a cloak", {"tweed", "pallium"}, WorkContext{});
  ASSERT_TRUE(s.is_ok());
  EXPECT_GT(s->score[1], s->score[0]);
  // An id that is not a passage scores by its rank alone; an empty
  // description too, and it covers nothing.
  s = (*m)->score("", {"nothing", "alb"}, WorkContext{});
  ASSERT_TRUE(s.is_ok());
  EXPECT_GT(s->score[0], s->score[1]);
  EXPECT_EQ(s->best_cover, 0.0);
}

TEST(DefinitionMatcher, ANegatedWordMatchesOnlyANegatedWord) {
  const auto analyzer = analyzer_with_stopwords();
  const TableEmbedder embedder;
  const std::vector<Passage> kb = {passage("beret", "beret", "a soft cap without a brim"),
                                   passage("baseball cap", "baseball cap", "a cap with a brim")};
  auto m = DefinitionMatcher::build(kb, analyzer, embedder, WorkContext{});
  ASSERT_TRUE(m.is_ok());
  // "no brim" meets "without a brim" (a stopword between), not "with a brim".
  auto s = (*m)->score("which cap has no brim", {"baseball cap", "beret"}, WorkContext{});
  ASSERT_TRUE(s.is_ok());
  EXPECT_GT(s->score[1], s->score[0]);
  s = (*m)->score("which cap has a brim", {"beret", "baseball cap"}, WorkContext{});
  ASSERT_TRUE(s.is_ok());
  EXPECT_GT(s->score[1], s->score[0]);
}

}  // namespace
}  // namespace atelier::chat
