#include "obs/log.h"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>

namespace atelier::log {
namespace {

spdlog::level::level_enum to_spd(Level l) {
  switch (l) {
    case Level::trace: return spdlog::level::trace;
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
    case Level::critical: return spdlog::level::critical;
  }
  return spdlog::level::info;
}

const char* level_text(Level l) {
  switch (l) {
    case Level::trace: return "trace";
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
    case Level::critical: return "critical";
  }
  return "info";
}

std::string iso_now() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::time_t t = system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms));
  return buf;
}

std::shared_ptr<spdlog::logger>& logger() {
  static std::shared_ptr<spdlog::logger> l;
  return l;
}

}  // namespace

void init(const std::string& level, bool async) {
  std::shared_ptr<spdlog::logger> l;
  if (async) {
    spdlog::init_thread_pool(1 << 16, 1);
    l = std::make_shared<spdlog::async_logger>(
        "atelier", std::make_shared<spdlog::sinks::stdout_sink_mt>(), spdlog::thread_pool(),
        spdlog::async_overflow_policy::overrun_oldest);
  } else {
    l = std::make_shared<spdlog::logger>("atelier",
                                         std::make_shared<spdlog::sinks::stdout_sink_mt>());
  }
  l->set_pattern("%v");
  l->set_level(level == "off" ? spdlog::level::off : spdlog::level::from_str(level));
  l->flush_on(spdlog::level::warn);
  logger() = l;
}

void shutdown() {
  if (logger()) logger()->flush();
  logger().reset();
  spdlog::shutdown();
}

bool enabled(Level l) { return logger() && logger()->should_log(to_spd(l)); }

void write(Level l, const std::string& msg, nlohmann::json fields) {
  if (!enabled(l)) return;
  nlohmann::ordered_json line = nlohmann::ordered_json::object();
  line["ts"] = iso_now();
  line["level"] = level_text(l);
  line["msg"] = msg;
  if (fields.is_object()) {
    for (auto& [k, v] : fields.items()) line[k] = std::move(v);
  }
  logger()->log(to_spd(l), line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace atelier::log
