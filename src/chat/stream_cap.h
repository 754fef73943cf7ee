// Open chat streams per identity, capped: a stream (SSE or a WebSocket)
// holds a worker and maybe an upstream connection for as long as the client
// reads.
//
// Thread safety: take() from any thread; a Slot is released on any thread.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace atelier::chat {

class StreamCap {
 public:
  explicit StreamCap(int cap) : cap_(cap) {}
  int limit() const { return cap_; }

  // Held while a stream is open; gives its slot back when it goes.
  class Slot {
   public:
    Slot(StreamCap& cap, std::string who) : cap_(cap), who_(std::move(who)) {}
    ~Slot() { cap_.release(who_); }
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;

   private:
    StreamCap& cap_;
    const std::string who_;
  };
  // Null when the caller already holds `limit()` streams.
  std::unique_ptr<Slot> take(const std::string& who) {
    std::lock_guard lock(mu_);
    int& n = open_[who];
    if (n >= cap_) return nullptr;
    ++n;
    return std::make_unique<Slot>(*this, who);
  }

 private:
  void release(const std::string& who) {
    std::lock_guard lock(mu_);
    if (--open_[who] <= 0) open_.erase(who);
  }
  const int cap_;
  std::mutex mu_;
  std::unordered_map<std::string, int> open_;
};

}  // namespace atelier::chat
