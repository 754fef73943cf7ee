// Wall-clock time as unix seconds, for rows' timestamps. Code whose logic
// depends on time takes an injected clock instead (quota's Clock, the
// circuit breaker's Now), so tests never wait for it.
#pragma once

#include <chrono>
#include <cstdint>

namespace atelier {

inline std::int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline std::int64_t unix_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Milliseconds elapsed on the steady clock since `t` (durations reported in
// timings, never compared against a bound).
inline double ms_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace atelier
