#include "quota/concurrency.h"

#include <mutex>
#include <unordered_map>

namespace atelier {
namespace {

class MemoryConcurrencyLimiter final : public ConcurrencyLimiter {
 public:
  Result<std::unique_ptr<Slot>> take(const std::string& who, int cap) override {
    std::lock_guard lock(mu_);
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
    std::lock_guard lock(mu_);
    if (--open_[who] <= 0) open_.erase(who);
  }
  std::mutex mu_;
  std::unordered_map<std::string, int> open_;  // guarded by mu_
};

}  // namespace

std::unique_ptr<ConcurrencyLimiter> make_memory_concurrency_limiter() {
  return std::make_unique<MemoryConcurrencyLimiter>();
}

}  // namespace atelier
