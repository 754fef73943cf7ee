#include "core/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace atelier {
namespace {

TEST(WorkerPool, RunsTasksAndRefusesWhenQueueIsFull) {
  WorkerPool pool("test", 1, 2);
  std::promise<void> release;
  auto gate = release.get_future().share();
  std::atomic<int> ran{0};
  auto blocker = [&](const Status& pre, SteadyClock::duration) {
    ASSERT_TRUE(pre.is_ok());
    gate.wait();
    ++ran;
  };
  ASSERT_TRUE(pool.submit({}, blocker).is_ok());
  // Wait until the worker has taken the first task, so the queue is empty.
  while (pool.stats().active == 0) std::this_thread::yield();
  ASSERT_TRUE(pool.submit({}, blocker).is_ok());
  ASSERT_TRUE(pool.submit({}, blocker).is_ok());
  EXPECT_TRUE(pool.saturated());
  Status full = pool.submit({}, blocker);
  EXPECT_EQ(full.code(), Code::unavailable);
  EXPECT_EQ(pool.stats().rejected, 1u);
  release.set_value();
  while (pool.stats().completed < 3) std::this_thread::yield();
  pool.shutdown();
  EXPECT_EQ(ran.load(), 3);
}

TEST(WorkerPool, SkipsCancelledAndExpiredWork) {
  WorkerPool pool("test", 1, 8);
  std::promise<void> release;
  auto gate = release.get_future().share();
  ASSERT_TRUE(pool.submit({}, [&](const Status&, SteadyClock::duration) { gate.wait(); }).is_ok());

  CancelSource gone;
  std::promise<Status> cancelled_pre, expired_pre;
  ASSERT_TRUE(
      pool.submit({Deadline::never(), gone.token()},
                  [&](const Status& pre, SteadyClock::duration) { cancelled_pre.set_value(pre); })
          .is_ok());
  ASSERT_TRUE(
      pool.submit({Deadline::after(std::chrono::milliseconds(1)), {}},
                  [&](const Status& pre, SteadyClock::duration) { expired_pre.set_value(pre); })
          .is_ok());
  gone.cancel();
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  release.set_value();
  EXPECT_EQ(cancelled_pre.get_future().get().code(), Code::cancelled);
  EXPECT_EQ(expired_pre.get_future().get().code(), Code::deadline_exceeded);
  pool.shutdown();
  EXPECT_EQ(pool.stats().skipped_cancelled, 1u);
  EXPECT_EQ(pool.stats().skipped_expired, 1u);
}

TEST(WorkerPool, CountsWorkThatStartedInTimeAndFinishedLate) {
  WorkerPool pool("test", 1, 8);
  // The task must start before its deadline and return only once it has
  // passed. On a busy machine a worker may start it too late (then it is
  // answered as expired, not run): the deadline doubles until one starts in
  // time. The test waits for the task's own answer, so it never hangs.
  std::uint64_t late_starts = 0;
  bool ran = false;
  for (auto budget = std::chrono::milliseconds(20); !ran && budget <= std::chrono::seconds(40);
       budget *= 2) {
    std::promise<bool> started_in_time;
    const Deadline deadline = Deadline::after(budget);
    ASSERT_TRUE(pool.submit({deadline, {}},
                            [&](const Status& pre, SteadyClock::duration) {
                              if (pre.is_ok())
                                while (!deadline.expired()) std::this_thread::yield();
                              started_in_time.set_value(pre.is_ok());
                            })
                    .is_ok());
    ran = started_in_time.get_future().get();
    if (!ran) ++late_starts;
  }
  ASSERT_TRUE(ran);
  pool.shutdown();
  EXPECT_EQ(pool.stats().completed, 1u);
  EXPECT_EQ(pool.stats().overran, 1u);
  EXPECT_EQ(pool.stats().skipped_expired, late_starts);
}

TEST(WorkerPool, ShutdownAnswersQueuedTasks) {
  WorkerPool pool("test", 1, 8);
  std::promise<void> release;
  auto gate = release.get_future().share();
  ASSERT_TRUE(pool.submit({}, [&](const Status&, SteadyClock::duration) { gate.wait(); }).is_ok());
  while (pool.stats().active == 0) std::this_thread::yield();
  std::promise<Status> queued;
  ASSERT_TRUE(
      pool.submit({}, [&](const Status& pre, SteadyClock::duration) { queued.set_value(pre); })
          .is_ok());
  std::thread stopper([&] { pool.shutdown(); });
  EXPECT_EQ(queued.get_future().get().code(), Code::unavailable);
  release.set_value();
  stopper.join();
  EXPECT_EQ(pool.submit({}, [](const Status&, SteadyClock::duration) {}).code(), Code::unavailable);
}

}  // namespace
}  // namespace atelier
