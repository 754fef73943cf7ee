#include "quota/charge.h"

#include <gtest/gtest.h>

#include "store/temp_database_testing.h"

namespace atelier {
namespace {

using TempUsage = testing_support::TempRepository<UsageRepository>;

struct ChargeTest : ::testing::Test {
  std::int64_t now = 86400 * 20000 + 3600;  // 2024-10-04, 01:00 UTC
  Clock clock = [this] { return now; };
  TempUsage store{"charge"};
  std::unique_ptr<QuotaLedger> ledger = make_memory_quota_ledger(*store, clock);

  std::int64_t used(const std::string& who) { return ledger->today(who).value().units; }
  // What the pipeline does when it admits a request costing `units`.
  Charge open(const std::string& who, std::int64_t units, std::int64_t limit) {
    EXPECT_TRUE(ledger->reserve(who, units, limit).allowed);
    return Charge(*ledger, who, limit, units, utc_day(now), clock);
  }
};

TEST_F(ChargeTest, ReservesWithinTheLimitAndRefusesPastIt) {
  Charge c = open("k1", 2, 10);
  EXPECT_TRUE(c.reserve(5).is_ok());
  EXPECT_EQ(c.reserved(), 7);
  Status refused = c.reserve(4);  // 7 + 4 > 10
  EXPECT_EQ(refused.code(), Code::resource_exhausted);
  ASSERT_TRUE(c.refusal().has_value());
  EXPECT_EQ(c.refusal()->binding.name, Limit::daily_quota);
  EXPECT_GE(c.refusal()->retry_after_s, 1);
  EXPECT_EQ(c.reserved(), 7);  // a refused reservation takes nothing
  EXPECT_EQ(used("k1"), 7);
}

TEST_F(ChargeTest, FailureGivesBackWhatWasReservedOnceButNotWhatWasDelivered) {
  Charge c = open("k2", 1, 100);
  ASSERT_TRUE(c.reserve(3).is_ok());
  c.settle(5);  // tokens that reached the client
  EXPECT_EQ(used("k2"), 9);
  EXPECT_EQ(c.refund(), 4);
  EXPECT_EQ(c.refund(), 0);  // the pipeline and a late handler may both end it
  EXPECT_EQ(used("k2"), 5);
  EXPECT_EQ(c.settled(), 5);
}

TEST_F(ChargeTest, SettledUnitsGoPastTheLimit) {
  Charge c = open("k3", 1, 2);
  c.settle(10);
  EXPECT_EQ(used("k3"), 11);
  EXPECT_EQ(c.reserve(1).code(), Code::resource_exhausted);
}

TEST_F(ChargeTest, AReservationAfterTheWorkEndedIsGivenBackAtOnce) {
  Charge c = open("k4", 1, 100);
  EXPECT_EQ(c.refund(), 1);
  EXPECT_FALSE(c.reserve(3).is_ok());
  EXPECT_EQ(used("k4"), 0);
}

TEST_F(ChargeTest, ARefundCrossingMidnightGoesBackToEachDay) {
  Charge c = open("k5", 2, 100);
  now += 86400;  // the next UTC day
  ASSERT_TRUE(c.reserve(3).is_ok());
  EXPECT_EQ(used("k5"), 3);
  EXPECT_EQ(c.refund(), 5);
  EXPECT_EQ(used("k5"), 0);
  now -= 86400;
  EXPECT_EQ(used("k5"), 0);
}

TEST(LimitNames, EveryLimitHasItsWireName) {
  EXPECT_STREQ(limit_name(Limit::identity_minute), "identity_minute");
  EXPECT_STREQ(limit_name(Limit::daily_quota), "daily_quota");
  EXPECT_STREQ(limit_name(Limit::usage_store_unavailable), "usage_store_unavailable");
  LimitState l{Limit::daily_quota, 50, 0, 10};
  EXPECT_EQ(describe_limit(l), "daily quota of 50 cost units reached");
}

}  // namespace
}  // namespace atelier
