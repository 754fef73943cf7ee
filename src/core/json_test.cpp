#include "core/json.h"

#include <gtest/gtest.h>

#include "core/ids.h"

namespace atelier {
namespace {

// Issue 12, defect 1: a document nested 100,000 deep overflowed the stack of
// whatever walked it after parsing. The bounded parser refuses it up front.
TEST(BoundedJson, Issue12DeepNestingIsRefusedBeforeParsing) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  auto r = json::parse(deep);
  ASSERT_FALSE(r.is_ok());
  EXPECT_EQ(r.status().code(), Code::invalid_argument);
  EXPECT_NE(r.status().message().find("nested deeper than 64"), std::string::npos);
  std::string nested;
  for (int i = 0; i < 100000; ++i) nested += "{\"a\":";
  nested += "1" + std::string(100000, '}');
  EXPECT_FALSE(json::parse(nested).is_ok());
  // Brackets inside strings are text, not nesting.
  EXPECT_TRUE(json::parse("{\"s\":\"" + std::string(1000, '[') + "\"}").is_ok());
}

TEST(BoundedJson, SizeStringAndSyntaxLimits) {
  json::Limits l;
  l.max_bytes = 10;
  EXPECT_EQ(json::parse("[1,2,3,4,5,6]", l).status().code(), Code::payload_too_large);
  l = {};
  l.max_string = 8;
  EXPECT_FALSE(json::parse("[\"0123456789\"]", l).is_ok());
  EXPECT_TRUE(json::parse("[\"01234\"]", l).is_ok());
  auto bad = json::parse("{\"a\": ", {}, "line 3");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().message().rfind("line 3 is not valid JSON", 0), 0u);
  EXPECT_EQ(json::depth(*json::parse("[[1],{\"a\":[2]}]")), 3);
}

// Issue 12, defect 2: ids with NUL silently truncated; defect 9: image ids
// were unbounded. One rule for every id.
TEST(Ids, Issue12OneRuleForEveryId) {
  EXPECT_TRUE(check_id("keep", "id").is_ok());
  EXPECT_TRUE(check_id("Ärmel-7", "id").is_ok());
  EXPECT_FALSE(check_id(std::string("keep\0other", 10), "id").is_ok());
  EXPECT_FALSE(check_id("", "id").is_ok());
  EXPECT_FALSE(check_id(std::string(257, 'x'), "id").is_ok());
  EXPECT_TRUE(check_id(std::string(256, 'x'), "id").is_ok());
  EXPECT_FALSE(check_id("tab\there", "id").is_ok());
  EXPECT_FALSE(check_id("\xff\xfe", "id").is_ok());
  EXPECT_FALSE(check_id("\xc0\xaf", "id").is_ok()) << "overlong encodings are not UTF-8";
}

}  // namespace
}  // namespace atelier
