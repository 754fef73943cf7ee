// Conformance: collections and documents, on SQLite and PostgreSQL.
#include "search/collection_repository.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <thread>

#include "store/backends_testing.h"

namespace atelier {
namespace {

using testing_support::BackendTest;
class CollectionRepositoryTest : public BackendTest {};

TEST_P(CollectionRepositoryTest, DocumentsRoundTripExactlyAndEveryWriteBumpsTheVersion) {
  CollectionRepository repo(*db_);
  auto c = repo.create("shop", "user:1", "glove-sif-100d", 3, "public");
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->ref, "user:1:shop");
  EXPECT_EQ(repo.create("shop", "user:1", "m", 3, "private").status().code(), Code::already_exists);
  // Names are per owner: another owner's "shop" is its own collection.
  auto theirs = repo.create("shop", "user:2", "m", 3, "private");
  ASSERT_TRUE(theirs.is_ok()) << theirs.status().message();
  EXPECT_NE(theirs->id, c->id);
  EXPECT_EQ(repo.find("user:2:shop")->owner, "user:2");
  ASSERT_TRUE(repo.remove(theirs->id).is_ok());
  const std::vector<float> v{0.1f, -std::numeric_limits<float>::denorm_min(), 3.4e38f};
  auto counts = repo.upsert_documents(
      c->id, {{"a", "red dress", R"({"colour":"red"})", v}, {"b", "blue jeans", "{}", {}}});
  ASSERT_TRUE(counts.is_ok()) << counts.status().message();
  EXPECT_EQ(counts->inserted, 2);
  EXPECT_EQ(counts->updated, 0);
  counts = repo.upsert_documents(c->id, {{"a", "dark red dress", "{}", v}});
  EXPECT_EQ(counts->inserted, 0);
  EXPECT_EQ(counts->updated, 1);
  auto found = repo.find("user:1:shop");
  ASSERT_TRUE(found.is_ok());
  EXPECT_EQ(found->documents, 2);
  EXPECT_EQ(found->version, 2);
  EXPECT_EQ(found->visibility, "public");
  EXPECT_EQ(found->dimensions, 3);
  auto a = repo.get_document(c->id, "a");
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ(a->text, "dark red dress");
  ASSERT_EQ(a->vector.size(), 3u);
  for (std::size_t i = 0; i < v.size(); ++i) EXPECT_EQ(a->vector[i], v[i]);  // bit-exact
  EXPECT_TRUE(repo.get_document(c->id, "b")->vector.empty());
  int scanned = 0;
  ASSERT_TRUE(repo.scan_documents(c->id,
                                  [&](const DocumentRecord& d) {
                                    ++scanned;
                                    EXPECT_FALSE(d.text.empty());
                                  })
                  .is_ok());
  EXPECT_EQ(scanned, 2);
  // A delete of nothing is not_found and leaves the version alone.
  EXPECT_EQ(repo.delete_document(c->id, "zzz").code(), Code::not_found);
  EXPECT_EQ(repo.find("user:1:shop")->version, 2);
  ASSERT_TRUE(repo.delete_document(c->id, "b").is_ok());
  EXPECT_EQ(repo.find("user:1:shop")->version, 3);
  EXPECT_EQ(repo.get_document(c->id, "b").status().code(), Code::not_found);
  EXPECT_EQ(repo.upsert_documents(c->id + 100, {{"x", "t", "{}", {}}}).status().code(),
            Code::not_found);
}

TEST_P(CollectionRepositoryTest, ChangesSinceAVersionAreTheRowsWrittenAndTheIdsDeleted) {
  CollectionRepository repo(*db_);
  auto c = repo.create("feed", "user:1", "m", 2, "private");
  ASSERT_TRUE(c.is_ok());
  ASSERT_TRUE(repo.upsert_documents(c->id, {{"a", "one", "{}", {1, 0}}, {"b", "two", "{}", {}}})
                  .is_ok());                                                              // v1
  ASSERT_TRUE(repo.upsert_documents(c->id, {{"c", "three", "{}", {}}}).is_ok());          // v2
  ASSERT_TRUE(repo.delete_document(c->id, "b").is_ok());                                  // v3
  ASSERT_TRUE(repo.upsert_documents(c->id, {{"a", "one again", "{}", {0, 1}}}).is_ok());  // v4
  ASSERT_TRUE(repo.delete_document(c->id, "c").is_ok());                                  // v5
  ASSERT_TRUE(repo.upsert_documents(c->id, {{"c", "three again", "{}", {}}}).is_ok());    // v6
  auto changes = [&](std::int64_t since, std::int64_t until) {
    std::vector<std::string> out;
    EXPECT_TRUE(repo.changes(
                        c->id, since, until,
                        [&](const std::string& id) { out.push_back("-" + id); },
                        [&](const DocumentRecord& d) { out.push_back("+" + d.id + ":" + d.text); })
                    .is_ok());
    std::sort(out.begin(), out.end());
    return out;
  };
  // Each row carries its last write: a and c were written again later.
  EXPECT_EQ(changes(0, 1), std::vector<std::string>{});
  EXPECT_EQ(changes(0, 3), std::vector<std::string>{"-b"});
  EXPECT_EQ(changes(1, 4), (std::vector<std::string>{"+a:one again", "-b"}));
  EXPECT_EQ(changes(4, 6), (std::vector<std::string>{"+c:three again", "-c"}));
  EXPECT_EQ(changes(6, 6), std::vector<std::string>{});
  // Deleted ids come before written rows: applied in order, c ends present.
  std::vector<std::string> order;
  ASSERT_TRUE(repo.changes(
                      c->id, 4, 6, [&](const std::string& id) { order.push_back("-" + id); },
                      [&](const DocumentRecord& d) { order.push_back("+" + d.id); })
                  .is_ok());
  EXPECT_EQ(order, (std::vector<std::string>{"-c", "+c"}));
  // A deleted id's tombstone is one row, whatever its history.
  ASSERT_TRUE(repo.delete_document(c->id, "c").is_ok());  // v7
  EXPECT_EQ(changes(6, 7), std::vector<std::string>{"-c"});
  EXPECT_EQ(changes(0, 7), (std::vector<std::string>{"+a:one again", "-b", "-c"}));
}

TEST_P(CollectionRepositoryTest, RemovingACollectionRemovesItsDocumentsOnly) {
  CollectionRepository repo(*db_);
  auto a = repo.create("a", "user:1", "m", 2, "private");
  auto b = repo.create("b", "user:1", "m", 2, "private");
  ASSERT_TRUE(repo.upsert_documents(a->id, {{"x", "one", "{}", {1, 2}}}).is_ok());
  ASSERT_TRUE(repo.upsert_documents(b->id, {{"x", "two", "{}", {3, 4}}}).is_ok());
  ASSERT_TRUE(repo.remove(a->id).is_ok());
  EXPECT_EQ(repo.find("user:1:a").status().code(), Code::not_found);
  EXPECT_EQ(repo.get_document(b->id, "x")->text, "two");
  auto all = repo.list();
  ASSERT_TRUE(all.is_ok());
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].name, "b");
  EXPECT_EQ((*all)[0].ref, "user:1:b");
}

TEST_P(CollectionRepositoryTest, ConcurrentWritersToOneCollectionSerialise) {
  CollectionRepository repo(*db_);
  auto c = repo.create("busy", "user:1", "m", 1, "private");
  std::vector<std::thread> threads;
  std::atomic<int> inserted{0}, updated{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20; ++i) {
        // Every writer writes the same ids: each is inserted once, then updated.
        auto n = repo.upsert_documents(
            c->id, {{"d" + std::to_string(i), "t" + std::to_string(t), "{}", {float(t)}}});
        ASSERT_TRUE(n.is_ok()) << n.status().message();
        inserted += static_cast<int>(n->inserted);
        updated += static_cast<int>(n->updated);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(inserted.load(), 20);
  EXPECT_EQ(updated.load(), 100);
  auto now = repo.find("user:1:busy");
  EXPECT_EQ(now->documents, 20);
  EXPECT_EQ(now->version, 120);
}

ATELIER_ON_EVERY_BACKEND(CollectionRepositoryTest);

}  // namespace
}  // namespace atelier
