#include "chat/sampling.h"

#include <gtest/gtest.h>

#include "chat/conversation.h"

namespace atelier::chat {
namespace {

TEST(Sampling, StopCutsBeforeTheFirstSequenceAndMaxTokensAtAWordsEnd) {
  Sampling none;
  std::string t = "tweed: a thick woolly fabric";
  EXPECT_EQ(limit_answer(&t, none), "stop");
  EXPECT_EQ(t, "tweed: a thick woolly fabric");

  Sampling stop;
  stop.stop = {"woolly", "thick", ""};
  t = "tweed: a thick woolly fabric";
  EXPECT_EQ(limit_answer(&t, stop), "stop");
  EXPECT_EQ(t, "tweed: a ");

  Sampling len;
  len.max_tokens = 3;  // 12 bytes at most, at a word's end
  t = "tweed: a thick woolly fabric";
  EXPECT_EQ(limit_answer(&t, len), "length");
  EXPECT_EQ(t, "tweed: a");
  EXPECT_LE(estimated_tokens(t), 3u);

  // Within the limit nothing changes.
  len.max_tokens = 100;
  t = "tweed";
  EXPECT_EQ(limit_answer(&t, len), "stop");
  EXPECT_EQ(t, "tweed");

  // One long word: cut on a UTF-8 boundary, never inside a character.
  len.max_tokens = 1;
  t = "\xc3\xa9\xc3\xa9\xc3\xa9";  // "ééé": 6 bytes, the 4-byte cut would split the third
  EXPECT_EQ(limit_answer(&t, len), "length");
  EXPECT_EQ(t, "\xc3\xa9\xc3\xa9");
}

}  // namespace
}  // namespace atelier::chat
