#include "core/circuit_breaker.h"

#include <gtest/gtest.h>

#include <thread>

namespace atelier {
namespace {

TEST(CircuitBreaker, OpensAfterConsecutiveFailuresAndRecoversThroughOneTrial) {
  CircuitBreaker b(3, std::chrono::milliseconds(50));
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
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_TRUE(b.admit().is_ok());                  // the trial
  EXPECT_EQ(b.admit().code(), Code::unavailable);  // only one at a time
  b.record(down);                                  // a failed trial opens it again at once
  EXPECT_EQ(b.state(), CircuitBreaker::State::open);
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
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
