#include "nn/safetensors.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

namespace atelier::nn {
namespace {

std::string write_file(const std::string& name, const std::string& header,
                       const std::string& data) {
  auto p = (std::filesystem::temp_directory_path() /
            ("atelier-st-" + std::to_string(::getpid()) + "-" + name))
               .string();
  std::ofstream f(p, std::ios::binary);
  const std::uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) f.put(static_cast<char>((n >> (8 * i)) & 0xff));
  f << header << data;
  return p;
}

TEST(SafeTensors, ReadsAndConvertsF16AndBf16) {
  // 1.0, -2.0, 0.5 and a subnormal in IEEE half; 1.0 and -3.0 in bfloat16.
  std::string data("\x00\x3c\x00\xc0\x00\x38\x01\x00\x80\x3f\x40\xc0", 12);
  auto p = write_file(
      "ok",
      R"({"h":{"dtype":"F16","shape":[2,2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"BF16","shape":[2],"data_offsets":[8,12]},"__metadata__":{"format":"pt"}})",
      data);
  auto st = SafeTensors::open(p);
  ASSERT_TRUE(st.is_ok()) << st.status().message();
  EXPECT_EQ((*st)->metadata().at("format"), "pt");
  auto h = (*st)->load_f32("h", {2, 2});
  ASSERT_TRUE(h.is_ok());
  EXPECT_EQ((*h)[0], 1.0f);
  EXPECT_EQ((*h)[1], -2.0f);
  EXPECT_EQ((*h)[2], 0.5f);
  EXPECT_FLOAT_EQ((*h)[3], 5.9604645e-08f);  // 2^-24, the smallest half subnormal
  auto b = (*st)->load_f32("b", {2});
  ASSERT_TRUE(b.is_ok());
  EXPECT_EQ((*b)[0], 1.0f);
  EXPECT_EQ((*b)[1], -3.0f);
  auto wrong = (*st)->load_f32("h", {4});
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_NE(wrong.status().message().find("has shape [2,2] but the config expects [4]"),
            std::string::npos);
  auto missing = (*st)->load_f32("nope", {1});
  EXPECT_NE(missing.status().message().find("missing tensor 'nope'"), std::string::npos);
  std::remove(p.c_str());
}

TEST(SafeTensors, RefusesMalformedFiles) {
  struct Case {
    const char* name;
    std::string header, data, expect;
  };
  const Case cases[] = {
      {"notjson", "{oops", "", "not a JSON object"},
      {"outside", R"({"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
       std::string(8, '\0'), "outside"},
      {"size", R"({"t":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", std::string(8, '\0'),
       "needs 12"},
      {"dtype", R"({"t":{"dtype":"F8","shape":[1],"data_offsets":[0,1]}})", std::string(1, '\0'),
       "unsupported dtype"},
      {"overlap",
       R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
       std::string(8, '\0'), "overlap"},
      {"negative", R"({"t":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})",
       std::string(4, '\0'), "non-natural"},
  };
  for (const auto& c : cases) {
    auto p = write_file(c.name, c.header, c.data);
    auto st = SafeTensors::open(p);
    ASSERT_FALSE(st.is_ok()) << c.name;
    EXPECT_EQ(st.status().code(), Code::invalid_argument) << c.name;
    EXPECT_NE(st.status().message().find(c.expect), std::string::npos)
        << c.name << ": " << st.status().message();
    std::remove(p.c_str());
  }
  // A header length larger than the file.
  auto p = write_file("short", "", "");
  {
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.put('\x40');
  }
  auto st = SafeTensors::open(p);
  ASSERT_FALSE(st.is_ok());
  EXPECT_NE(st.status().message().find("does not fit"), std::string::npos) << st.status().message();
  std::remove(p.c_str());
  EXPECT_EQ(SafeTensors::open("/nonexistent/model.safetensors").status().code(), Code::not_found);
}

}  // namespace
}  // namespace atelier::nn
