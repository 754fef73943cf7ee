// Conformance: conversations on SQLite and PostgreSQL; the history budget.
#include "chat/conversation.h"

#include <gtest/gtest.h>

#include "store/backends_testing.h"

namespace atelier::chat {
namespace {

using testing_support::BackendTest;
class ConversationRepositoryTest : public BackendTest {};

TEST_P(ConversationRepositoryTest, TurnsAppendInOrderAndBelongToTheirOwner) {
  ConversationRepository repo(*db_);
  ASSERT_TRUE(repo.create({"cv_1", "user:1", "fabrics", 100, 100}).is_ok());
  ASSERT_TRUE(repo.create({"cv_2", "user:1", "boots", 200, 200}).is_ok());
  ASSERT_TRUE(repo.create({"cv_3", "user:2", "theirs", 300, 300}).is_ok());
  ASSERT_TRUE(repo.append("user:1", "cv_1",
                          {{0, "user", "what is tweed?", "[]", 0},
                           {0, "assistant", "tweed: thick woolen fabric [1]", R"([{"n":1}])", 0}},
                          400)
                  .is_ok());
  ASSERT_TRUE(repo.append("user:1", "cv_1", {{0, "user", "and flannel? ✓", "[]", 0}}, 500).is_ok());
  auto m = repo.messages("user:1", "cv_1");
  ASSERT_TRUE(m.is_ok());
  ASSERT_EQ(m->size(), 3u);
  EXPECT_EQ((*m)[0].seq, 1);
  EXPECT_EQ((*m)[2].seq, 3);
  EXPECT_EQ((*m)[2].content, "and flannel? ✓");
  EXPECT_EQ((*m)[1].sources_json, R"([{"n":1}])");
  EXPECT_EQ((*m)[2].created_at, 500);
  // Most recently updated first, with message counts.
  auto list = repo.list("user:1", 10);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "cv_1");
  EXPECT_EQ((*list)[0].messages, 3);
  EXPECT_EQ((*list)[0].updated_at, 500);
  // Another owner's conversation does not exist for them.
  EXPECT_EQ(repo.find("user:2", "cv_1").status().code(), Code::not_found);
  EXPECT_EQ(repo.messages("user:2", "cv_1").status().code(), Code::not_found);
  EXPECT_EQ(repo.append("user:2", "cv_1", {{0, "user", "hi", "[]", 0}}, 600).code(),
            Code::not_found);
  EXPECT_EQ(repo.remove("user:2", "cv_1").code(), Code::not_found);
  EXPECT_EQ(repo.messages("user:1", "cv_1")->size(), 3u);
  ASSERT_TRUE(repo.remove("user:1", "cv_1").is_ok());
  EXPECT_EQ(repo.find("user:1", "cv_1").status().code(), Code::not_found);
  ASSERT_TRUE(repo.remove_owner("user:1").is_ok());
  EXPECT_TRUE(repo.list("user:1", 10)->empty());
  EXPECT_EQ(repo.list("user:2", 10)->size(), 1u);
}

ATELIER_ON_EVERY_BACKEND(ConversationRepositoryTest);

TEST(History, DropsTheOldestTurnsWholeAndKeepsSystemTurns) {
  const std::string forty(40, 'x');  // 10 tokens
  std::vector<Message> turns = {{1, "system", forty, "[]", 0},
                                {2, "user", forty, "[]", 0},
                                {3, "assistant", forty, "[]", 0},
                                {4, "user", forty + "y", "[]", 0}};
  auto h = history_within(turns, 31);  // system 10 + newest 11 + one more of 10
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].seq, 1);
  EXPECT_EQ(h[1].seq, 3);
  EXPECT_EQ(h[2].seq, 4);
  EXPECT_EQ(h[2].content, forty + "y") << "never cut mid-message";
  EXPECT_EQ(history_within(turns, 1000).size(), 4u);
  EXPECT_EQ(history_within(turns, 0).back().seq, 4) << "the newest turn is always there";
}

}  // namespace
}  // namespace atelier::chat
