#include "config/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

namespace atelier {
namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  std::string path = ::testing::TempDir() + name;
  std::ofstream(path) << text;
  return path;
}

TEST(Config, DefaultsAreValid) {
  auto c = load_config({});
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->port, 8080);
  EXPECT_EQ(c->host, "127.0.0.1");
  EXPECT_EQ(c->max_body_bytes, 20 * 1024 * 1024);
  EXPECT_EQ(c->max_body_hard_bytes, 2 * c->max_body_bytes);
}

TEST(Config, FileThenEnvironmentThenFlags) {
  auto file =
      write_temp("atelier_test.env",
                 "# profile\nATELIER_PORT=9000\nHOST=0.0.0.0\nATELIER_FREE_DAILY_LIMIT=\"7\"\n"
                 "ATELIER_CORS_ORIGINS=https://a.example, https://b.example\n");
  ConfigSource src;
  src.file = file;
  src.env = {{"ATELIER_PORT", "9100"}, {"ATELIER_LOG_LEVEL", "warn"}};
  src.flags = {{"port", "9200"}};
  auto c = load_config(src);
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->port, 9200);
  EXPECT_EQ(c->host, "0.0.0.0");
  EXPECT_EQ(c->daily_limit[static_cast<int>(Tier::free)], 7);
  EXPECT_EQ(c->log_level, "warn");
  ASSERT_EQ(c->cors_origins.size(), 2u);
  EXPECT_EQ(c->cors_origins[1], "https://b.example");
}

TEST(Config, YamlFile) {
  auto file =
      write_temp("atelier_test.yaml",
                 "port: 8181\nmetrics_enabled: false\ncors_origins:\n  - https://x.example\n");
  ConfigSource src;
  src.file = file;
  auto c = load_config(src);
  ASSERT_TRUE(c.is_ok()) << c.status().message();
  EXPECT_EQ(c->port, 8181);
  EXPECT_FALSE(c->metrics_enabled);
  EXPECT_EQ(c->cors_origins.at(0), "https://x.example");
}

TEST(Config, ReportsEveryBadValueAtOnce) {
  ConfigSource src;
  src.env = {{"ATELIER_PORT", "eighty"}, {"ATELIER_LOG_LEVEL", "loud"}, {"ATELIER_WORKERS", "-3"}};
  auto c = load_config(src);
  ASSERT_FALSE(c.is_ok());
  const std::string m = c.status().message();
  EXPECT_NE(m.find("port expected an integer"), std::string::npos) << m;
  EXPECT_NE(m.find("log_level must be one of"), std::string::npos) << m;
  EXPECT_NE(m.find("workers must be between 0 and 256"), std::string::npos) << m;
}

TEST(Config, UnknownEnvironmentIsAWarningUnknownFileKeyAnError) {
  ConfigSource src;
  src.env = {{"ATELIER_SERVICE_HOST", "10.0.0.1"}};
  auto c = load_config(src);
  ASSERT_TRUE(c.is_ok());
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_NE(c->warnings[0].find("ATELIER_SERVICE_HOST"), std::string::npos);
  src.file = write_temp("typo.env", "ATELIER_FREE_DAILY_LIMT=5\n");
  auto bad = load_config(src);
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("unknown setting 'ATELIER_FREE_DAILY_LIMT'"),
            std::string::npos);
}

TEST(Config, ProductionNeedsAStrongJwtSecret) {
  ConfigSource src;
  src.env = {{"ATELIER_ENV", "production"}};
  EXPECT_FALSE(load_config(src).is_ok());
  src.env["ATELIER_JWT_SECRET"] = std::string(40, 'k');
  EXPECT_TRUE(load_config(src).is_ok());
}

TEST(Config, ShowMasksSecrets) {
  ConfigSource src;
  src.env = {{"ATELIER_JWT_SECRET", std::string(40, 's')}};
  auto c = load_config(src);
  ASSERT_TRUE(c.is_ok());
  bool seen = false;
  for (auto& [k, v] : describe_config(*c)) {
    EXPECT_EQ(v.find("ssssssss"), std::string::npos) << k;
    if (k == "jwt_secret") {
      seen = true;
      EXPECT_EQ(v, "********");
    }
  }
  EXPECT_TRUE(seen);
}

TEST(Config, ShippedProfilesLoad) {
  for (const char* profile : {"development", "production", "enterprise"}) {
    ConfigSource src;
    src.file = std::string(ATELIER_SOURCE_DIR) + "/config/" + profile + ".env";
    src.env = {{"ATELIER_JWT_SECRET", std::string(48, 'p')}};
    auto c = load_config(src);
    ASSERT_TRUE(c.is_ok()) << profile << ": " << c.status().message();
  }
}

}  // namespace
}  // namespace atelier
