// Structured logs: one JSON object per line on stdout (ts, level, msg and the
// event's fields). Secrets never reach a log line: callers pass identity ids,
// never keys, tokens or passwords.
//
// Thread safety: spdlog's async logger; log() may be called from any thread and
// never blocks a network thread (under overload the oldest lines are dropped).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace atelier::log {

enum class Level { trace, debug, info, warn, error, critical };

// Sets up the process logger; `level` as in the configuration.
void init(const std::string& level, bool async);
void shutdown();
bool enabled(Level l);
void write(Level l, const std::string& msg, nlohmann::json fields = nlohmann::json::object());

inline void info(const std::string& m, nlohmann::json f = nlohmann::json::object()) {
  write(Level::info, m, std::move(f));
}
inline void warn(const std::string& m, nlohmann::json f = nlohmann::json::object()) {
  write(Level::warn, m, std::move(f));
}
inline void error(const std::string& m, nlohmann::json f = nlohmann::json::object()) {
  write(Level::error, m, std::move(f));
}

}  // namespace atelier::log
