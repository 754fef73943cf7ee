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
  std::promise<void> done;
  // The task starts before its deadline and returns only once it has passed.
  ASSERT_TRUE(pool.submit({Deadline::after(std::chrono::milliseconds(20)), {}},
                          [&](const Status& pre, SteadyClock::duration) {
                            ASSERT_TRUE(pre.is_ok());
                            WorkContext self{Deadline::after(std::chrono::milliseconds(20)), {}};
                            while (!self.deadline.expired()) std::this_thread::yield();
                            done.set_value();
                          })
                  .is_ok());
  done.get_future().wait();
  pool.shutdown();
  EXPECT_EQ(pool.stats().completed, 1u);
  EXPECT_EQ(pool.stats().overran, 1u);
  EXPECT_EQ(pool.stats().skipped_expired, 0u);
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
