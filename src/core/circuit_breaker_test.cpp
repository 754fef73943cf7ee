#include "core/circuit_breaker.h"

#include <gtest/gtest.h>

namespace atelier {
namespace {

TEST(CircuitBreaker, OpensAfterConsecutiveFailuresAndRecoversThroughOneTrial) {
  // A hand-moved clock: the cooldown passes when the test says so.
  CircuitBreaker::TimePoint now{};
  CircuitBreaker b(3, std::chrono::milliseconds(50), [&] { return now; });
  const Status down = Status::unavailable("503");
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(b.admit().is_ok());
    b.record(down);
  }
  ASSERT_TRUE(b.admit().is_ok());
  b.record(Status::ok());  // a success resets the count
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(b.admit().is_ok());
    b.record(down);
  }
  EXPECT_EQ(b.state(), CircuitBreaker::State::open);
  EXPECT_EQ(b.admit().code(), Code::unavailable);
  EXPECT_EQ(b.rejected(), 1u);
  now += std::chrono::milliseconds(49);
  EXPECT_EQ(b.admit().code(), Code::unavailable);  // still cooling down
  now += std::chrono::milliseconds(1);
  EXPECT_TRUE(b.admit().is_ok());                  // the trial
  EXPECT_EQ(b.admit().code(), Code::unavailable);  // only one at a time
  b.record(down);                                  // a failed trial opens it again at once
  EXPECT_EQ(b.state(), CircuitBreaker::State::open);
  now += std::chrono::milliseconds(50);
  EXPECT_TRUE(b.admit().is_ok());
  b.record(Status::ok());
  EXPECT_EQ(b.state(), CircuitBreaker::State::closed);
  EXPECT_EQ(b.opened(), 2u);
}

TEST(CircuitBreaker, CallerMistakesDoNotCount) {
  CircuitBreaker b(1, std::chrono::seconds(10));
  ASSERT_TRUE(b.admit().is_ok());
  b.record(Status::invalid_argument("bad prompt"));
  EXPECT_EQ(b.state(), CircuitBreaker::State::closed);
  ASSERT_TRUE(b.admit().is_ok());
  b.record(Status::deadline_exceeded("slow"));
  EXPECT_EQ(b.state(), CircuitBreaker::State::open);
}

}  // namespace
}  // namespace atelier
