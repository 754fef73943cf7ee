#include "quota/limits.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "store/temp_database_testing.h"

namespace atelier {
namespace {

using TempUsage = testing_support::TempRepository<UsageRepository>;
std::unique_ptr<TempUsage> temp_store(const std::string& name) {
  return std::make_unique<TempUsage>("limits" + name);
}

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  std::string t;
  while (in >> t) w.push_back(t);
  return w;
}

// Runs tests/golden/limits.txt: every step's outcome must match exactly.
TEST(LimitsGolden, AllCases) {
  std::ifstream in(std::string(ATELIER_SOURCE_DIR) + "/tests/golden/limits.txt");
  ASSERT_TRUE(in) << "golden file missing";
  std::int64_t now = 0;
  Clock clock = [&now] { return now; };
  std::unique_ptr<TempUsage> store;
  std::unique_ptr<RateLimiter> limiter;
  std::unique_ptr<QuotaLedger> ledger;
  std::string case_name, line;
  int lineno = 0, steps = 0;
  while (std::getline(in, line)) {
    ++lineno;
    auto w = words(line);
    if (w.empty() || w[0][0] == '#') continue;
    const std::string where = case_name + " (line " + std::to_string(lineno) + ")";
    if (w[0] == "case") {
      case_name = line.substr(5);
      store = temp_store(std::to_string(lineno));
      limiter = make_memory_rate_limiter({}, clock);
      ledger = make_memory_quota_ledger(**store, clock);
      continue;
    }
    if (w[0] == "limits") {
      RateLimitConfig cfg;
      for (std::size_t i = 1; i < w.size(); ++i) {
        auto eq = w[i].find('=');
        auto k = w[i].substr(0, eq);
        auto v = std::stoll(w[i].substr(eq + 1));
        if (k == "identity_per_minute")
          cfg.identity_per_minute = v;
        else if (k == "global_per_minute")
          cfg.global_per_minute = v;
        else if (k == "global_per_hour")
          cfg.global_per_hour = v;
        else if (k == "block_after_violations")
          cfg.block_after_violations = v;
        else if (k == "block_duration_s")
          cfg.block_duration_s = v;
        else
          FAIL() << where << ": unknown limit " << k;
      }
      limiter = make_memory_rate_limiter(cfg, clock);
      continue;
    }
    ++steps;
    now = std::stoll(w[0]);
    const std::string& op = w[1];
    if (op == "admit") {
      ASSERT_EQ(w.size() >= 6, true) << where;
      Decision d = limiter->admit(w[2]);
      if (w[4] == "allow") {
        EXPECT_TRUE(d.allowed) << where;
        if (w[5] == "-") {
          EXPECT_FALSE(d.has_binding) << where;
        } else {
          EXPECT_EQ(limit_name(d.binding.name), w[5]) << where;
          EXPECT_EQ(d.binding.remaining, std::stoll(w[6])) << where;
          EXPECT_EQ(d.binding.reset_s, std::stoll(w[7])) << where;
        }
      } else {
        EXPECT_FALSE(d.allowed) << where;
        EXPECT_EQ(limit_name(d.binding.name), w[5]) << where;
        EXPECT_EQ(d.retry_after_s, std::stoll(w[6])) << where;
      }
    } else if (op == "reserve") {
      Decision d = ledger->reserve(w[2], std::stoll(w[3]), std::stoll(w[4]));
      if (w[6] == "allow") {
        EXPECT_TRUE(d.allowed) << where;
        if (w[7] != "-") {
          EXPECT_EQ(d.binding.remaining, std::stoll(w[7])) << where;
        }
      } else {
        EXPECT_FALSE(d.allowed) << where;
        EXPECT_EQ(d.binding.name, Limit::daily_quota) << where;
        EXPECT_EQ(d.retry_after_s, std::stoll(w[7])) << where;
      }
    } else if (op == "refund") {
      ledger->refund(w[2], utc_day(now), std::stoll(w[3]));
    } else if (op == "used") {
      auto u = ledger->today(w[2]);
      ASSERT_TRUE(u.is_ok()) << where;
      EXPECT_EQ(u->units, std::stoll(w[4])) << where;
    } else {
      FAIL() << where << ": unknown step " << op;
    }
  }
  EXPECT_GT(steps, 30);
}

TEST(QuotaLedger, ExactUnderConcurrentRace) {
  auto store = temp_store("race");
  auto ledger = make_memory_quota_ledger(**store, system_clock_seconds());
  constexpr int kLimit = 37;
  std::atomic<int> granted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 100; ++t) {
    threads.emplace_back([&] {
      if (ledger->reserve("racer", 1, kLimit).allowed) ++granted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(granted.load(), kLimit);
}

TEST(QuotaLedger, FlushPersistsAndReloads) {
  auto store = temp_store("flush");
  std::int64_t now = 1795392000;
  Clock clock = [&now] { return now; };
  {
    auto ledger = make_memory_quota_ledger(**store, clock);
    ASSERT_TRUE(ledger->reserve("p", 6, 10).allowed);
    ASSERT_TRUE(ledger->flush().is_ok());
    ASSERT_TRUE(ledger->reserve("p", 1, 10).allowed);
    ASSERT_TRUE(ledger->flush().is_ok());
  }
  auto stored = (*store)->get_usage("p", utc_day(now));
  ASSERT_TRUE(stored.is_ok());
  EXPECT_EQ(stored->units, 7);
  EXPECT_EQ(stored->requests, 2);
  // A new process (or replica restart) continues from the stored total.
  auto ledger2 = make_memory_quota_ledger(**store, clock);
  EXPECT_TRUE(ledger2->reserve("p", 3, 10).allowed);
  EXPECT_FALSE(ledger2->reserve("p", 1, 10).allowed);
}

}  // namespace
}  // namespace atelier
