// Feedback on both backends, and what a preference model learns from it.
#include "wardrobe/feedback.h"

#include <gtest/gtest.h>

#include "store/backends_testing.h"

namespace atelier::wardrobe {
namespace {

using testing_support::BackendTest;
class FeedbackRepositoryTest : public BackendTest {};

TEST_P(FeedbackRepositoryTest, EventsReadBackOldestFirstPerOwner) {
  FeedbackRepository repo(*db_);
  for (int i = 0; i < 5; ++i) {
    Feedback f{"fb_" + std::to_string(i),           "u", i % 2 ? "dislike" : "like",
               {"wi_a", "wi_" + std::to_string(i)}, {},  100 + i};
    f.context.occasion = "work";
    ASSERT_TRUE(repo.add(f).is_ok());
  }
  ASSERT_TRUE(repo.add({"fb_x", "other", "wore", {"wi_z"}, {}, 1}).is_ok());
  auto last3 = repo.recent("u", 3);
  ASSERT_TRUE(last3.is_ok());
  ASSERT_EQ(last3->size(), 3u);
  EXPECT_EQ((*last3)[0].id, "fb_2");
  EXPECT_EQ((*last3)[2].id, "fb_4");
  EXPECT_EQ((*last3)[2].item_ids, (std::vector<std::string>{"wi_a", "wi_4"}));
  EXPECT_EQ((*last3)[2].context.occasion, "work");
  ASSERT_TRUE(repo.remove_owner("u").is_ok());
  EXPECT_TRUE(repo.recent("u", 10)->empty());
  EXPECT_EQ(repo.recent("other", 10)->size(), 1u);
}

ATELIER_ON_EVERY_BACKEND(FeedbackRepositoryTest);

Item item(const std::string& id, const std::string& category, const std::string& family,
          std::vector<float> embedding) {
  Item it;
  it.id = id;
  it.auto_tags.category = {category, 1};
  it.auto_tags.color_family = family;
  it.embedding = std::move(embedding);
  return it;
}

TEST(Preferences, LearnsLeaningsPairsWornDaysAndDislikedOutfits) {
  const std::vector<Item> items = {
      item("a", "top", "black", {1, 0}), item("b", "bottom", "black", {0.8f, 0.6f}),
      item("c", "top", "red", {0, 1}), item("d", "bottom", "white", {0.6f, 0.8f})};
  const std::vector<Feedback> events = {
      {"1", "u", "like", {"a", "b"}, {}, 10},
      {"2", "u", "dislike", {"c", "d"}, {}, 20},
      {"3", "u", "wore", {"a"}, {}, 30},
      {"4", "u", "like", {"gone"}, {}, 40},  // an item deleted since: ignored
  };
  const CompatWeights global = CompatWeights::defaults();
  const Preferences p = Preferences::learn(events, items, global);
  EXPECT_EQ(p.likes, 1);
  EXPECT_EQ(p.dislikes, 1);
  EXPECT_EQ(p.wore, 1);
  EXPECT_GT(p.color_families.at("black"), 0);
  EXPECT_LT(p.color_families.at("red"), 0);
  EXPECT_GT(p.pair_affinity.at("a|b"), 0);
  EXPECT_LT(p.pair_affinity.at("c|d"), 0);
  EXPECT_EQ(p.last_worn.at("a"), 30);
  EXPECT_TRUE(p.disliked_outfit({"d", "c"}));
  EXPECT_FALSE(p.disliked_outfit({"a", "c"}));
  ASSERT_EQ(p.taste.size(), 2u);
  // The liked pair outranks the disliked one on the same features, and says why.
  const Features f{};
  std::vector<std::string> why;
  const double liked = p.score({&items[0], &items[1]}, f, &why);
  const double disliked = p.score({&items[2], &items[3]}, f);
  EXPECT_GT(liked, disliked);
  ASSERT_FALSE(why.empty());
  EXPECT_EQ(why[0], "You liked black before; this outfit has it.");
}

}  // namespace
}  // namespace atelier::wardrobe
