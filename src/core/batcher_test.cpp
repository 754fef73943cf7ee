#include "core/batcher.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <thread>

namespace atelier {
namespace {

TEST(Batcher, LoneRequestRunsAtOnceAndConcurrentOnesShareForwards) {
  std::atomic<int> forwards{0};
  std::vector<std::size_t> sizes;
  Mutex mu;  // guards sizes
  auto model = [&](std::vector<int>& in) {
    ++forwards;
    {
      MutexLock lk(mu);
      sizes.push_back(in.size());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30));  // a slow model
    std::vector<Result<int>> out;
    for (int x : in) out.push_back(x * 2);
    return out;
  };
  WorkContext w;
  {
    // A lone request does not wait for the window: with a ten-minute window
    // it would not come back at all. (The wait below only keeps a broken
    // batcher from hanging the suite; nothing here measures latency.)
    Batcher<int, int> lone({"t", 8, std::chrono::minutes(10), 64}, model);
    auto answer = std::async(std::launch::async, [&] { return lone.run(21, w); });
    ASSERT_EQ(answer.wait_for(std::chrono::minutes(1)), std::future_status::ready);
    EXPECT_EQ(answer.get().value(), 42);
    EXPECT_EQ(forwards.load(), 1);
  }
  forwards = 0;
  sizes.clear();
  Batcher<int, int> b({"t", 8, std::chrono::milliseconds(20), 64}, model);
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  for (int i = 0; i < 16; ++i) {
    ts.emplace_back([&, i] {
      if (b.run(i, w).value() == i * 2) ++ok;
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok, 16);
  EXPECT_LT(forwards.load(), 16);  // some inputs shared a forward
  MutexLock lk(mu);
  for (auto s : sizes) EXPECT_LE(s, 8u);
}

TEST(Batcher, FullQueueRefusesAndExpiredWorkIsSkipped) {
  std::atomic<bool> release{false};
  std::atomic<int> ran{0};
  Batcher<int, int> b({"t", 1, std::chrono::milliseconds(0), 1}, [&](std::vector<int>& in) {
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    ran += static_cast<int>(in.size());
    return std::vector<Result<int>>{in[0]};
  });
  WorkContext w;
  std::thread first([&] { (void)b.run(1, w); });  // occupies the model
  while (b.queued() != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  WorkContext shortlived{Deadline::after(std::chrono::milliseconds(30)), {}};
  auto queued = b.submit(2, shortlived);  // fills the one-slot queue
  ASSERT_TRUE(queued.is_ok());
  EXPECT_EQ(b.submit(3, w).status().code(), Code::unavailable);
  using B = Batcher<int, int>;
  EXPECT_EQ(B::wait(queued.value(), shortlived).status().code(), Code::deadline_exceeded);
  release = true;
  first.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(ran, 1);  // the expired input never reached the model
  EXPECT_EQ(b.rejected(), 1u);
}

TEST(Batcher, LanesRunAtOnceEachOnItsOwnAndShareABurst) {
  constexpr std::size_t kLanes = 2;
  std::array<std::atomic<int>, kLanes> inside{};
  std::array<std::atomic<int>, kLanes> batches{};
  std::atomic<int> running{0}, most{0}, overlapped_self{0};
  Batcher<int, int> b({"t", 8, std::chrono::milliseconds(0), 64, kLanes},
                      [&](std::vector<int>& in, std::size_t lane) {
                        if (inside[lane]++ != 0) ++overlapped_self;
                        const int now = ++running;
                        for (int m = most; now > m && !most.compare_exchange_weak(m, now);) {
                        }
                        ++batches[lane];
                        std::this_thread::sleep_for(std::chrono::milliseconds(40));
                        --running;
                        --inside[lane];
                        std::vector<Result<int>> out;
                        for (int x : in) out.push_back(x + 1);
                        return out;
                      });
  WorkContext w;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(b.run(i, w).value(), i + 1);
  EXPECT_EQ(batches[0], 3);  // lone requests land on lane 0
  EXPECT_EQ(batches[1], 0);
  std::vector<std::thread> ts;
  std::atomic<int> ok{0};
  for (int i = 0; i < 16; ++i) {
    ts.emplace_back([&, i] {
      if (b.run(i, w).value() == i + 1) ++ok;
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(ok, 16);
  EXPECT_EQ(overlapped_self, 0);  // a lane never runs two batches at once
  EXPECT_EQ(most, 2);             // the lanes did run side by side
  EXPECT_GT(batches[0], 0);
  EXPECT_GT(batches[1], 0);
}

}  // namespace
}  // namespace atelier
