// A small Redis client for the state replicas share (limits, quotas, the
// revocation broadcast): a pool of connections, each command bounded by a
// timeout, Lua scripts run by their SHA, and subscriptions on their own
// thread. Implemented on hiredis in redis.cpp, the only file that includes it.
//
// Unreachable Redis: a failed connect or command marks the server down and
// later calls fail at once with `unavailable` for a back-off that doubles
// from 100 ms to 2 s, so a dead Redis costs callers microseconds, not a
// connect timeout each; the first call after the back-off tries again.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace atelier::redis {

struct Reply {
  enum class Type { nil, integer, string, array, status };
  Type type = Type::nil;
  std::int64_t integer = 0;
  std::string str;  // string and status replies
  std::vector<Reply> elements;

  // An integer reply, or a string that holds one; `fallback` otherwise.
  std::int64_t as_int(std::int64_t fallback = 0) const;
};

struct Options {
  std::string url;                         // redis://[:password@]host[:port][/db]
  std::chrono::milliseconds timeout{250};  // connect, and each command
  std::size_t pool = 8;                    // idle connections kept
};

// A Lua script, run by EVALSHA; sent whole (EVAL) only when the server does
// not know it yet (first use, or after a restart).
struct Script {
  explicit Script(std::string src);
  std::string source;
  std::string sha;  // SHA-1 of the source, hex
};

// A subscription's thread: stops (and closes its connection) on destruction.
class Subscription {
 public:
  virtual ~Subscription() = default;
};

class Client {
 public:
  // Checks the URL (invalid_argument); connects lazily.
  static Result<std::unique_ptr<Client>> create(Options opt);
  virtual ~Client() = default;

  // One command; an error reply is `internal` with Redis's message.
  virtual Result<Reply> command(const std::vector<std::string>& argv) = 0;
  virtual Result<Reply> eval(Script& script, const std::vector<std::string>& keys,
                             const std::vector<std::string>& args) = 0;
  // Runs `on_message(payload)` on a thread of its own for each message
  // published on `channel`, reconnecting with the same back-off;
  // `on_reconnect` runs after each reconnection (messages may have been
  // missed while it was down).
  virtual std::unique_ptr<Subscription> subscribe(std::string channel,
                                                  std::function<void(std::string)> on_message,
                                                  std::function<void()> on_reconnect) = 0;
  // Whether the last attempt to reach the server succeeded.
  virtual bool up() const = 0;
  // Counts of calls refused or failed while the server was unreachable.
  virtual std::uint64_t failures() const = 0;
};

}  // namespace atelier::redis
