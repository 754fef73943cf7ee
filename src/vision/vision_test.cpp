#include <gtest/gtest.h>

#include <opencv2/core.hpp>

#include "engines/local/grounded_scene.h"
#include "vision/colors.h"
#include "vision/service.h"
#include "vision/taxonomy.h"

namespace atelier::vision {
namespace {

TEST(Colors, Ciede2000MatchesSharmaTestData) {
  // Pairs 1, 2, 7, 17 and 25 of Sharma, Wu and Dalal (2005), table 1.
  struct Case {
    Lab a, b;
    double de;
  } cases[] = {
      {{50, 2.6772, -79.7751}, {50, 0, -82.7485}, 2.0425},
      {{50, 3.1571, -77.2803}, {50, 0, -82.7485}, 2.8615},
      {{50, 0, 0}, {50, -1, 2}, 2.3669},
      {{50, 2.5, 0}, {73, 25, -18}, 27.1492},
      {{60.2574, -34.0099, 36.2677}, {60.4626, -34.1751, 39.4387}, 1.2644},
  };
  for (const auto& c : cases) {
    EXPECT_NEAR(ciede2000(c.a, c.b), c.de, 1e-4);
    EXPECT_NEAR(ciede2000(c.b, c.a), c.de, 1e-4);
  }
}

TEST(Colors, NamesAndFamilies) {
  EXPECT_EQ(nearest_color_name(0, 0, 128), "navy");
  EXPECT_EQ(nearest_color_name(255, 255, 255), "white");
  EXPECT_EQ(nearest_color_name(250, 128, 114), "salmon");
  EXPECT_EQ(color_family(srgb_to_lab(0, 0, 128)), "navy");
  EXPECT_EQ(color_family(srgb_to_lab(0, 0, 255)), "blue");
  EXPECT_EQ(color_family(srgb_to_lab(220, 20, 60)), "red");
  EXPECT_EQ(color_family(srgb_to_lab(139, 69, 19)), "brown");
  EXPECT_EQ(color_family(srgb_to_lab(0, 128, 0)), "green");
  EXPECT_EQ(color_family(srgb_to_lab(128, 128, 128)), "grey");
  EXPECT_EQ(color_family(srgb_to_lab(245, 245, 220)), "beige");
  EXPECT_EQ(color_family(srgb_to_lab(128, 0, 128)), "purple");
}

TEST(Colors, PaletteSharesAndDeterminism) {
  cv::Mat m(50, 100, CV_8UC3, cv::Scalar(0, 0, 0));
  m(cv::Rect(0, 0, 25, 50)).setTo(cv::Scalar(255, 255, 255));  // 25% white (BGR)
  m(cv::Rect(25, 0, 75, 50)).setTo(cv::Scalar(0, 165, 255));   // 75% orange
  auto p = dominant_colors(m, cv::Rect(0, 0, 100, 50), 5);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].name, "orange");
  EXPECT_EQ(p[0].hex, "#ffa500");
  EXPECT_NEAR(p[0].share, 0.75, 0.01);  // sampled on a grid
  EXPECT_EQ(p[1].name, "white");
  auto again = dominant_colors(m, cv::Rect(0, 0, 100, 50), 5);
  EXPECT_EQ(again[0].hex, p[0].hex);
  EXPECT_TRUE(dominant_colors(m, cv::Rect(200, 200, 5, 5), 5).empty());  // outside: nothing
}

TEST(Taxonomy, MapsModelClasses) {
  EXPECT_EQ(coco_taxon("sofa").type, "couch");
  EXPECT_EQ(coco_taxon("tvmonitor").category, "electronics");
  EXPECT_EQ(coco_taxon("giraffe").category, "other");
  EXPECT_EQ(imagenet_taxon("jean, blue jean, denim").type, "jeans");
  EXPECT_EQ(imagenet_taxon("studio couch, day bed").category, "furniture");
  EXPECT_TRUE(imagenet_taxon("tench, Tinca tinca").category.empty());
  std::vector<std::string> labels = {"background", "jean, blue jean, denim", "miniskirt, mini",
                                     "tench"};
  auto t = types_from_probs({0.1f, 0.5f, 0.3f, 0.1f}, labels, 0.2, 5);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].type, "jeans");
  EXPECT_EQ(t[1].type, "miniskirt");
}

TEST(GroundedScene, CaptionsAndAnswersOnlyFromFacts) {
  engines::GroundedSceneDescriber g;
  engines::SceneFacts f;
  f.objects = {{"person", "", "navy", {10, 10, 50, 100}, 0.9f},
               {"chair", "", "", {100, 50, 30, 30}, 0.7f},
               {"chair", "", "", {140, 50, 30, 30}, 0.6f}};
  f.text = "SALE";
  WorkContext w;
  auto c = g.caption(f, "", w);
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->text, "a person wearing navy with 2 chairs; text reads 'SALE'");
  EXPECT_EQ(g.answer("How many chairs?", f, "", w)->text, "2");
  EXPECT_EQ(g.answer("how many people are there", f, "", w)->text, "1");
  EXPECT_EQ(g.answer("What colour is the man wearing?", f, "", w)->text, "navy");
  EXPECT_EQ(g.answer("What color is the person?", f, "", w)->text, "navy");
  EXPECT_EQ(g.answer("Is there a sofa?", f, "", w)->text, "no");
  EXPECT_EQ(g.answer("What does the sign say?", f, "", w)->text, "SALE");
  auto u = g.answer("Why is the sky blue?", f, "", w);
  EXPECT_EQ(u->text, "unknown");
  EXPECT_LT(u->confidence, 0.2f);
}

// People and their clothes: plurals and counts read right, a garment type the
// classifier is unsure of is left out, and "what is X wearing" is answered
// from the same facts ("unknown" when nothing can be read).
TEST(GroundedScene, SpeaksAboutWhatPeopleWear) {
  engines::GroundedSceneDescriber g;
  WorkContext w;
  engines::SceneFacts f;
  f.objects = {{"person", "", "grey", {0, 0, 50, 100}, 0.9f},
               {"person", "", "grey", {60, 0, 50, 100}, 0.8f},
               {"person", "t-shirt", "red", {120, 0, 50, 100}, 0.8f, 0.7f},
               {"person", "bra", "cyan", {180, 0, 50, 100}, 0.7f, 0.3f}};  // unsure: no "bra"
  auto c = g.caption(f, "", w);
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ(c->text,
            "2 people wearing grey with a person in a red t-shirt and a person wearing cyan");
  auto a = g.answer("What is the person wearing?", f, "", w);
  EXPECT_EQ(a->text, "grey clothes; a red t-shirt; cyan clothes");
  EXPECT_EQ(a->evidence.size(), 4u);
  EXPECT_EQ(g.answer("Is it casual or formal?", f, "", w)->text, "casual");
  EXPECT_EQ(g.answer("What colour is the top?", f, "", w)->text, "red");

  engines::SceneFacts two_jeans;
  two_jeans.objects = {{"person", "jeans", "blue", {0, 0, 50, 100}, 0.9f, 0.8f},
                       {"person", "jeans", "blue", {60, 0, 50, 100}, 0.9f, 0.8f}};
  EXPECT_EQ(g.caption(two_jeans, "", w)->text, "2 people in blue jeans");
  EXPECT_EQ(g.answer("what are they wearing", two_jeans, "", w)->text, "blue jeans");

  engines::SceneFacts empty;
  EXPECT_EQ(g.answer("What is the man wearing?", empty, "", w)->text, "unknown");
  EXPECT_EQ(g.answer("Is this outfit formal?", empty, "", w)->text, "unknown");
}

// "Does this outfit go together?" is the wardrobe's evaluate on the pieces
// of the most prominent person; without a judged outfit the answer is unknown.
TEST(GroundedScene, AnswersWhetherAnOutfitGoesTogetherFromTheJudgement) {
  EXPECT_TRUE(engines::asks_about_outfit("Does this outfit go together?"));
  EXPECT_TRUE(engines::asks_about_outfit("do her clothes match"));
  EXPECT_TRUE(engines::asks_about_outfit("Do the colours work together?"));
  EXPECT_TRUE(engines::asks_about_outfit("Is this look good?"));
  EXPECT_FALSE(engines::asks_about_outfit("What is the person wearing?"));
  EXPECT_FALSE(engines::asks_about_outfit("How many matches are there?"));

  engines::SceneFacts f;
  f.objects = {{"person", "", "", {10, 5, 40, 60}, 0.9f},  // too small to judge
               {"person", "jeans", "blue", {100, 20, 200, 400}, 0.9f, 0.8f},
               {"handbag", "", "black", {280, 200, 60, 60}, 0.7f},
               {"handbag", "", "red", {900, 200, 60, 60}, 0.7f}};  // someone else's
  const auto pieces = outfit_pieces(f);
  ASSERT_EQ(pieces.size(), 3u);
  EXPECT_EQ(pieces[0].category, "top");
  EXPECT_EQ(pieces[1].category, "bottom");
  EXPECT_EQ(pieces[2].category, "bag");
  EXPECT_FLOAT_EQ(pieces[0].box.y, 20 + 0.18f * 400);
  EXPECT_FLOAT_EQ(pieces[1].box.y, 20 + 0.5f * 400);
  engines::SceneFacts gown = f;
  gown.objects[1].type = "gown";
  EXPECT_EQ(outfit_pieces(gown)[0].category, "dress");
  engines::SceneFacts nobody;
  nobody.objects = {{"chair", "", "", {0, 0, 200, 200}, 0.9f}};
  EXPECT_TRUE(outfit_pieces(nobody).empty());

  engines::GroundedSceneDescriber g;
  WorkContext w;
  EXPECT_EQ(g.answer("Does this outfit go together?", f, "", w)->text, "unknown");
  f.outfit =
      engines::OutfitJudgement{0.72,
                               "goes well together",
                               {"The blue jeans are casual while the white top is smart casual."}};
  f.outfit_pieces = pieces;
  auto a = g.answer("Does this outfit go together?", f, "", w);
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ(a->text, "yes");
  EXPECT_EQ(a->evidence[0], "outfit score 0.72: goes well together");
  EXPECT_EQ(a->evidence.size(), 1 + pieces.size() + 1);
  f.outfit->score = 0.3;
  EXPECT_EQ(g.answer("do the colours match?", f, "", w)->text, "no");
}

}  // namespace
}  // namespace atelier::vision
