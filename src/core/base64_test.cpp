#include "core/base64.h"

#include <gtest/gtest.h>

namespace atelier {
namespace {

TEST(Base64, EncodesTheRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("f", Base64Variant::standard_unpadded), "Zg");
  const std::string bytes("\xfb\xff\xfe", 3);
  EXPECT_EQ(base64_encode(bytes), "+//+");
  EXPECT_EQ(base64_encode(bytes, Base64Variant::url_safe), "-__-");
  EXPECT_EQ(base64_encode(bytes + "a", Base64Variant::url_safe_unpadded), "-__-YQ");
}

TEST(Base64, RoundTripsEveryVariantAndLength) {
  std::string bytes;
  for (int i = 0; i < 70; ++i) {
    for (auto v : {Base64Variant::standard, Base64Variant::standard_unpadded,
                   Base64Variant::url_safe, Base64Variant::url_safe_unpadded}) {
      const auto text = base64_encode(bytes, v);
      const auto back = base64_decode(text);
      ASSERT_TRUE(back.has_value()) << text;
      EXPECT_EQ(*back, bytes) << text;
    }
    bytes.push_back(static_cast<char>(i * 37 + 250));
  }
}

TEST(Base64, DecodingIgnoresWhitespace) {
  EXPECT_EQ(base64_decode("Zm9v\r\nYmFy"), "foobar");
  EXPECT_EQ(base64_decode(" Zm8=\t"), "fo");
  EXPECT_EQ(base64_decode(""), "");
}

TEST(Base64, RefusesWhatIsNotBase64) {
  EXPECT_FALSE(base64_decode("not base64!").has_value());
  EXPECT_FALSE(base64_decode("Zm9v*").has_value());
  EXPECT_FALSE(base64_decode("Z").has_value());           // a lone character is no byte
  EXPECT_FALSE(base64_decode("Zm9=v").has_value());       // padding in the middle
  EXPECT_FALSE(base64_decode("+/-_").has_value());        // two alphabets mixed
  EXPECT_FALSE(base64_decode("data:,Zm9v").has_value());  // data URLs are the caller's to strip
}

}  // namespace
}  // namespace atelier
