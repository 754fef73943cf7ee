#include "core/admission.h"

#include <gtest/gtest.h>

namespace atelier {
namespace {

using std::chrono::milliseconds;

// Issue 12, defect 6: admission counts the work already admitted. With two
// cores and 1 s tasks, a 2.5 s deadline fits the tasks that can finish and
// refuses the rest at once, with a Retry-After from the backlog.
TEST(Admission, Issue12RefusesWorkThatCannotFinishBeforeItsDeadline) {
  Admission a(2);
  const int kind = 0;
  const auto t0 = SteadyClock::time_point{} + std::chrono::hours(1);
  int retry = 0;
  // Unmeasured work is admitted; its first measurement becomes the estimate.
  auto first = a.admit(&kind, t0, t0 + milliseconds(2500), &retry);
  ASSERT_TRUE(first.is_ok());
  a.done(*first, true, 1000);
  EXPECT_DOUBLE_EQ(a.estimate_ms(&kind), 1000);

  int admitted = 0, refused = 0;
  for (int i = 0; i < 10; ++i) {
    auto t = a.admit(&kind, t0, t0 + milliseconds(2500), &retry);
    t.is_ok() ? ++admitted : ++refused;
    if (!t.is_ok()) {
      EXPECT_EQ(t.status().code(), Code::unavailable);
      EXPECT_GE(retry, 1);
    }
  }
  // With n admitted (n s of work on 2 cores) the next fits while
  // n/2 + 1 <= 2.5 s: 4 are admitted, the other 6 refused.
  EXPECT_EQ(admitted, 4);
  EXPECT_EQ(refused, 6);
  EXPECT_DOUBLE_EQ(a.backlog_ms(), 4000);
}

TEST(Admission, AloneARequestAlwaysRunsSoEstimatesCanRecover) {
  Admission a(2);
  const int kind = 0;
  const auto t0 = SteadyClock::time_point{} + std::chrono::hours(1);
  int retry = 0;
  auto slow = a.admit(&kind, t0, t0 + milliseconds(100), &retry);
  ASSERT_TRUE(slow.is_ok());
  a.done(*slow, true, 60000);  // one pathological minute
  auto next = a.admit(&kind, t0, t0 + milliseconds(100), &retry);
  ASSERT_TRUE(next.is_ok()) << "nothing queued: admitted despite the estimate";
  a.done(*next, true, 10);  // uncontended: the estimate moves back down
  EXPECT_LT(a.estimate_ms(&kind), 60000);
  // Dropped work (never ran) leaves the estimate alone and the backlog empty.
  auto dropped = a.admit(&kind, t0, t0 + milliseconds(100000000), &retry);
  ASSERT_TRUE(dropped.is_ok());
  const double before = a.estimate_ms(&kind);
  a.done(*dropped, false, 0);
  EXPECT_DOUBLE_EQ(a.estimate_ms(&kind), before);
  EXPECT_DOUBLE_EQ(a.backlog_ms(), 0);
  EXPECT_EQ(a.outstanding(), 0u);
}

}  // namespace
}  // namespace atelier
