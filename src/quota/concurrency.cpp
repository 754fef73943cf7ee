#include "quota/concurrency.h"

#include <unordered_map>

#include "core/mutex.h"

namespace atelier {
namespace {

class MemoryConcurrencyLimiter final : public ConcurrencyLimiter {
 public:
  Result<std::unique_ptr<Slot>> take(const std::string& who, int cap) override {
    MutexLock lock(mu_);
    int& n = open_[who];
    if (n >= cap) return std::unique_ptr<Slot>();
    ++n;
    return std::unique_ptr<Slot>(std::make_unique<MemorySlot>(*this, who));
  }

 private:
  class MemorySlot final : public Slot {
   public:
    MemorySlot(MemoryConcurrencyLimiter& owner, std::string who)
        : owner_(owner), who_(std::move(who)) {}
    ~MemorySlot() override { owner_.release(who_); }

   private:
    MemoryConcurrencyLimiter& owner_;
    const std::string who_;
  };
  void release(const std::string& who) {
    MutexLock lock(mu_);
    if (--open_[who] <= 0) open_.erase(who);
  }
  Mutex mu_;
  std::unordered_map<std::string, int> open_ GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<ConcurrencyLimiter> make_memory_concurrency_limiter() {
  return std::make_unique<MemoryConcurrencyLimiter>();
}

}  // namespace atelier
