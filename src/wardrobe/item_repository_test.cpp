// Conformance: wardrobe items on SQLite and PostgreSQL.
#include "wardrobe/item_repository.h"

#include <gtest/gtest.h>

#include "store/backends_testing.h"

namespace atelier::wardrobe {
namespace {

using testing_support::BackendTest;
class ItemRepositoryTest : public BackendTest {};

Item item(const std::string& id, const std::string& owner, std::int64_t created,
          const std::string& category = "top") {
  Item it;
  it.id = id;
  it.owner = owner;
  it.name = "item " + id;
  it.blob = "blob-" + id;
  it.content_type = "image/jpeg";
  it.width = 239;
  it.height = 334;
  it.auto_tags.category = {category, 0.8};
  it.auto_tags.category_scores = {{category, 0.8}, {"bag", 0.2}};
  it.auto_tags.type = Scored{"t-shirt", 0.6};
  it.auto_tags.colors = {{"#000080", "navy", "navy", 0.7}, {"#ffffff", "white", "white", 0.3}};
  it.auto_tags.color_family = "navy";
  it.auto_tags.season = {"spring", "summer"};
  it.auto_tags.season_confidence = 0.6;
  it.auto_tags.plain_background = true;
  it.embedding = {0.6f, 0.8f, 0.1f};  // not exact in binary: must come back bit-equal
  it.embedding_model = "mobilenet-v2";
  it.tag_embedding = {0.3f, -0.7f};
  it.tag_embedding_model = "glove-sif-100d";
  it.created_at = it.updated_at = created;
  return it;
}

TEST_P(ItemRepositoryTest, ItemsRoundTripWholeAndBelongToTheirOwner) {
  ItemRepository repo(*db_);
  Item a = item("wi_1", "user:1", 100);
  a.user_tags.pattern = "striped";
  ASSERT_TRUE(repo.create(a).is_ok());
  EXPECT_EQ(repo.create(a).code(), Code::already_exists);
  auto got = repo.find("user:1", "wi_1");
  ASSERT_TRUE(got.is_ok());
  EXPECT_EQ(got->embedding, a.embedding);
  EXPECT_EQ(got->tag_embedding, a.tag_embedding);
  EXPECT_EQ(got->tag_embedding_model, "glove-sif-100d");
  EXPECT_EQ(got->auto_tags.colors.size(), 2u);
  EXPECT_EQ(got->auto_tags.type->value, "t-shirt");
  EXPECT_EQ(got->auto_tags.category_scores, a.auto_tags.category_scores);
  EXPECT_EQ(got->pattern(), "striped");
  EXPECT_EQ(got->season(), (std::vector<std::string>{"spring", "summer"}));
  EXPECT_EQ(repo.find("user:2", "wi_1").status().code(), Code::not_found);
  EXPECT_EQ(repo.remove("user:2", "wi_1").code(), Code::not_found);
  Item theirs = a;
  theirs.owner = "user:2";
  theirs.name = "stolen";
  EXPECT_EQ(repo.update(theirs).code(), Code::not_found);
  EXPECT_EQ(repo.find("user:1", "wi_1")->name, "item wi_1");
  // An edit writes the tag embedding that follows the new words.
  Item edited = *repo.find("user:1", "wi_1");
  edited.tag_embedding = {0.5f};
  edited.tag_embedding_model = "other";
  ASSERT_TRUE(repo.update(edited).is_ok());
  EXPECT_EQ(repo.find("user:1", "wi_1")->tag_embedding, std::vector<float>{0.5f});
  EXPECT_EQ(repo.find("user:1", "wi_1")->tag_embedding_model, "other");
}

TEST_P(ItemRepositoryTest, ListsFilterOnEffectiveTagsAndPageNewestFirst) {
  ItemRepository repo(*db_);
  ASSERT_TRUE(repo.create(item("wi_a", "u", 1, "top")).is_ok());
  ASSERT_TRUE(repo.create(item("wi_b", "u", 2, "bottom")).is_ok());
  ASSERT_TRUE(repo.create(item("wi_c", "u", 2, "footwear")).is_ok());  // same instant as b
  Item d = item("wi_d", "u", 3, "top");
  d.brand = "100%_Wool";
  ASSERT_TRUE(repo.create(d).is_ok());
  ASSERT_TRUE(repo.create(item("wi_e", "other", 4, "top")).is_ok());

  std::vector<std::string> seen;
  std::optional<PagePosition> cursor;
  do {
    auto page = repo.list("u", {}, 2, cursor);
    ASSERT_TRUE(page.is_ok()) << page.status().message();
    for (const auto& it : page->items) seen.push_back(it.id);
    cursor = page->next;
  } while (cursor);
  EXPECT_EQ(seen, (std::vector<std::string>{"wi_d", "wi_c", "wi_b", "wi_a"}));

  ItemFilter tops;
  tops.category = "top";
  EXPECT_EQ(repo.list("u", tops, 10, std::nullopt)->items.size(), 2u);
  // A correction is what filters see.
  Item a = *repo.find("u", "wi_a");
  a.user_tags.category = "outerwear";
  a.user_tags.season = std::vector<std::string>{"winter"};
  ASSERT_TRUE(repo.update(a).is_ok());
  EXPECT_EQ(repo.list("u", tops, 10, std::nullopt)->items.size(), 1u);
  ItemFilter winter;
  winter.season = "winter";
  auto w = repo.list("u", winter, 10, std::nullopt);
  ASSERT_EQ(w->items.size(), 1u);
  EXPECT_EQ(w->items[0].id, "wi_a");
  // Text matches case-insensitively; LIKE's wildcards in the query are literal.
  ItemFilter text;
  text.text = "100%_wool";
  EXPECT_EQ(repo.list("u", text, 10, std::nullopt)->items.size(), 1u);
  text.text = "100%";
  EXPECT_EQ(repo.list("u", text, 10, std::nullopt)->items.size(), 1u);
  text.text = "%";  // a wildcard would match every item
  EXPECT_EQ(repo.list("u", text, 10, std::nullopt)->items.size(), 1u);
  text.text = "1_0";  // '_' as a wildcard would match "100"
  EXPECT_EQ(repo.list("u", text, 10, std::nullopt)->items.size(), 0u);
}

TEST_P(ItemRepositoryTest, DeletingAnOwnerReturnsTheirBlobsAndKeepsOthers) {
  ItemRepository repo(*db_);
  Item shared = item("wi_1", "u", 1);
  shared.blob = "same";
  Item other = item("wi_2", "v", 1);
  other.blob = "same";
  ASSERT_TRUE(repo.create(shared).is_ok());
  ASSERT_TRUE(repo.create(other).is_ok());
  auto blobs = repo.remove_owner("u");
  ASSERT_TRUE(blobs.is_ok());
  EXPECT_EQ(*blobs, std::vector<std::string>{"same"});
  EXPECT_TRUE(repo.all("u")->empty());
  EXPECT_TRUE(*repo.blob_in_use("same")) << "v still uses it";
  ASSERT_TRUE(repo.remove("v", "wi_2").is_ok());
  EXPECT_FALSE(*repo.blob_in_use("same"));
}

TEST_P(ItemRepositoryTest, VersionChangesWithEveryWriteAndMatchesTheRows) {
  ItemRepository repo(*db_);
  auto version = [&] { return *repo.version("u"); };
  EXPECT_EQ(version(), WardrobeVersion{});
  // Times near today's milliseconds: the sum must not overflow or round.
  const std::int64_t t0 = 1'795'000'000'000;
  ASSERT_TRUE(repo.create(item("wi_1", "u", t0)).is_ok());
  ASSERT_TRUE(repo.create(item("wi_2", "u", t0 + 1)).is_ok());
  ASSERT_TRUE(repo.create(item("wi_3", "v", t0 + 2)).is_ok());
  const WardrobeVersion two = version();
  EXPECT_EQ(two, (WardrobeVersion{2, 2 * t0 + 1}));
  EXPECT_EQ(two, version_of(*repo.all("u")));
  Item edited = *repo.find("u", "wi_1");
  edited.user_tags.category = "bottom";
  edited.updated_at = t0 + 5;
  ASSERT_TRUE(repo.update(edited).is_ok());
  EXPECT_NE(version(), two) << "an edit (a category may have changed) is a new version";
  EXPECT_EQ(version(), version_of(*repo.all("u")));
  ASSERT_TRUE(repo.remove("u", "wi_2").is_ok());
  EXPECT_EQ(version(), (WardrobeVersion{1, t0 + 5}));
}

ATELIER_ON_EVERY_BACKEND(ItemRepositoryTest);

}  // namespace
}  // namespace atelier::wardrobe
