#include "core/page_cursor.h"

#include <gtest/gtest.h>

#include "core/base64.h"

namespace atelier {
namespace {

const PageCursors cursors("a-test-secret-of-at-least-thirty-two-bytes");

TEST(PageCursor, RoundTripsForItsListAndOwner) {
  const PagePosition at{1795685274905, "wi_6a182d9d610e44383a1901aa"};
  const std::string c = cursors.seal("wardrobe_items", "user:7", at);
  auto back = cursors.open("wardrobe_items", "user:7", c);
  ASSERT_TRUE(back.is_ok()) << back.status().message();
  EXPECT_EQ(*back, at);
  // Opaque: neither the id nor the time shows through as text.
  EXPECT_EQ(c.find("wi_6a182d9d"), std::string::npos);
  EXPECT_EQ(c.find("1795685274905"), std::string::npos);
  // Numbered lists use ts alone; negative and zero positions survive.
  for (std::int64_t ts : {0LL, -5LL, 42LL}) {
    auto n = cursors.open("turns", "k", cursors.seal("turns", "k", {ts, ""}));
    ASSERT_TRUE(n.is_ok());
    EXPECT_EQ(n->ts, ts);
  }
}

TEST(PageCursor, RefusesCursorsOfAnotherListOwnerOrDeployment) {
  const std::string c = cursors.seal("designs", "user:1", {10, "d_1"});
  EXPECT_FALSE(cursors.open("designs", "user:2", c).is_ok());
  EXPECT_FALSE(cursors.open("wardrobe_items", "user:1", c).is_ok());
  // An owner that would shift the fields cannot be made to match.
  EXPECT_FALSE(cursors.open("designs", "user:1|10", c).is_ok());
  const PageCursors other("another-deployment-secret-of-32-bytes!!");
  EXPECT_FALSE(other.open("designs", "user:1", c).is_ok());
}

TEST(PageCursor, RefusesForgedAndDamagedCursors) {
  const std::string c = cursors.seal("designs", "user:1", {10, "d_1"});
  // A payload rewritten to start elsewhere, with the old tag.
  const auto dot = c.find('.');
  const std::string forged =
      base64_encode("v1|designs|user:1|99999999999|zzz", Base64Variant::url_safe_unpadded) +
      c.substr(dot);
  const std::string cases[] = {
      "",
      "zzz",
      "1795685274905.wi_6a182d9d610e44383a1901aa",  // the old, unsigned format
      forged,
      c.substr(0, dot),                        // no tag
      c.substr(0, dot) + ".",                  // empty tag
      c.substr(0, c.size() - 2),               // a cut tag
      c + "AA",                                // a longer tag
      "!!!." + c.substr(dot + 1),              // a payload that is not base64
      std::string(5000, 'A') + c.substr(dot),  // far too long
  };
  for (const auto& bad : cases) {
    auto r = cursors.open("designs", "user:1", bad);
    ASSERT_FALSE(r.is_ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::invalid_argument);
    EXPECT_EQ(r.status().message(), "malformed cursor");
  }
  // Every single flipped character of a good cursor is refused.
  for (std::size_t i = 0; i < c.size(); ++i) {
    std::string flipped = c;
    flipped[i] = flipped[i] == 'A' ? 'B' : 'A';
    if (flipped == c) continue;
    EXPECT_FALSE(cursors.open("designs", "user:1", flipped).is_ok()) << i;
  }
}

}  // namespace
}  // namespace atelier
