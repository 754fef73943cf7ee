#include "chat/composer.h"

#include <gtest/gtest.h>

namespace atelier::chat {
namespace {

Retrieved passage(std::string id, const std::string& title, const std::string& hypernym,
                  const std::string& gloss, std::vector<std::string> synonyms = {}) {
  Retrieved r;
  r.id = std::move(id);
  r.collection = "kb";
  r.title = title;
  r.synonyms = std::move(synonyms);
  r.hypernym = hypernym;
  r.text = title + ": " + gloss + " [a kind of " + hypernym + "]";
  return r;
}

TEST(Composer, AWhichWordQuestionNamesTheTermItsDescriptionDefines) {
  const auto alb = passage("1", "alb", "vestment",
                           "a white linen liturgical vestment with sleeves; worn by priests");
  const auto linen =
      passage("2", "linen", "fabric", "a fabric woven with fibers from the flax plant");
  const auto vestment = passage("3", "vestment", "gown", "gown worn by the clergy");
  const auto tweed = passage("4", "tweed", "fabric", "thick woolen fabric");
  // The words the question uses ("linen", "vestment") are not the answer:
  // the term whose definition the question gives is, cited.
  auto a = compose("Which word means: a white linen vestment with sleeves worn by priests?",
                   {linen, vestment, tweed, alb});
  EXPECT_TRUE(a.found);
  EXPECT_EQ(a.text, "alb: a white linen liturgical vestment with sleeves; worn by priests [1]");
  ASSERT_EQ(a.cited.size(), 1u);
  EXPECT_EQ(a.cited[0].source.id, "1");
  // Other ways of asking.
  EXPECT_EQ(
      compose("What do you call a thick woolen fabric?", {linen, tweed}).cited.at(0).source.id,
      "4");
  EXPECT_EQ(
      compose("the term for a gown worn by the clergy", {alb, vestment}).cited.at(0).source.id,
      "3");
  // A definition question is still answered by the thing it names.
  EXPECT_EQ(compose("What is linen?", {alb, linen}).cited.at(0).source.id, "2");
}

TEST(Composer, DefinesComparesAndListsOnlyWithCitedSpans) {
  const auto tweed = passage("1", "tweed", "fabric", "thick woolen fabric");
  const auto flannel_trousers =
      passage("2", "flannel", "trouser", "trousers made of flannel", {"gabardine", "tweed"});
  const auto flannel = passage("3", "flannel", "fabric", "a soft light woolen fabric");
  const auto riding = passage("4", "riding boot", "boot", "a boot without laces");
  const auto boot = passage("5", "boot", "footwear", "footwear that covers the whole foot");

  // A title beats a synonym: "tweed" is the fabric, not the trousers.
  auto d = compose("What is tweed?", {flannel_trousers, tweed});
  EXPECT_TRUE(d.found);
  EXPECT_EQ(d.text, "tweed: thick woolen fabric [1]");
  ASSERT_EQ(d.cited.size(), 1u);
  EXPECT_EQ(d.cited[0].source.id, "1");

  // Of two "flannel"s, the one of the same kind as tweed; the question's order.
  auto c = compose("tweed vs flannel", {flannel_trousers, flannel, tweed});
  EXPECT_EQ(c.text,
            "tweed: thick woolen fabric [1] flannel: a soft light woolen fabric [2] Both are "
            "kinds of fabric.");

  auto l = compose("What kinds of boots are there?", {riding, boot});
  EXPECT_EQ(l.text,
            "Kinds of boot I can cite: riding boot [1]. boot: footwear that covers the whole "
            "foot [2]");

  auto none = compose("What should I wear to a wedding?", {tweed, boot});
  EXPECT_FALSE(none.found);
  EXPECT_EQ(none.text, kNothingFound);
  EXPECT_TRUE(none.cited.empty());
}

TEST(Composer, NamesAreWholeWordsAndTheLongestWins) {
  const auto color = passage("1", "color", "attribute", "a visual attribute");
  const auto complementary = passage("2", "complementary color", "color", "either of two colors");
  auto a = compose("what is a complementary color", {color, complementary});
  EXPECT_EQ(a.text, "complementary color: either of two colors [1]");
  EXPECT_EQ(mention(words_of("the colorful coat"), "color"), -1) << "not inside a word";
  EXPECT_EQ(mention(words_of("Two BOOTS"), "boot"), 1) << "a plural names its singular";
}

TEST(Composer, CitesTheAnsweringSentenceOfUntitledDocuments) {
  Retrieved note;
  note.id = "n1";
  note.collection = "care-notes";
  note.text =
      "Our shop opens at nine. Wash linen shirts cold and hang them to dry! Iron linen while "
      "damp.\nSilk needs a gentle cycle.";
  Retrieved other = note;
  other.id = "n2";
  other.text = "Returns are accepted within thirty days.";
  const auto c = compose("How should I wash my linen shirts?", {other, note});
  ASSERT_TRUE(c.found);
  ASSERT_EQ(c.cited.size(), 1u);
  EXPECT_EQ(c.cited[0].source.id, "n1");
  EXPECT_EQ(c.text, "Wash linen shirts cold and hang them to dry! [1]");
  EXPECT_NE(note.text.find("Wash linen shirts cold and hang them to dry!"), std::string::npos);

  // One shared topic word of three is not enough: nothing is cited.
  const auto none = compose("What do velvet curtains cost?", {note});
  EXPECT_FALSE(none.found);
  EXPECT_EQ(none.text, kNothingFound);

  // Beside a definition, a document that answers is cited after it.
  const auto tweed = passage("1", "tweed", "fabric", "thick woolen fabric");
  Retrieved care = note;
  care.id = "n3";
  care.text = "Brush tweed jackets after wearing. Store tweed folded.";
  const auto both = compose("how do I care for tweed jackets?", {tweed, care});
  EXPECT_EQ(both.text, "tweed: thick woolen fabric [1] Brush tweed jackets after wearing. [2]");
}

}  // namespace
}  // namespace atelier::chat
