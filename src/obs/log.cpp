#include "obs/log.h"

#include <fmt/format.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <thread>

#include "core/mutex.h"

namespace atelier::log {
namespace {

spdlog::level::level_enum to_spd(Level l) {
  switch (l) {
    case Level::trace:
      return spdlog::level::trace;
    case Level::debug:
      return spdlog::level::debug;
    case Level::info:
      return spdlog::level::info;
    case Level::warn:
      return spdlog::level::warn;
    case Level::error:
      return spdlog::level::err;
    case Level::critical:
      return spdlog::level::critical;
  }
  return spdlog::level::info;
}

const char* level_text(Level l) {
  switch (l) {
    case Level::trace:
      return "trace";
    case Level::debug:
      return "debug";
    case Level::info:
      return "info";
    case Level::warn:
      return "warn";
    case Level::error:
      return "error";
    case Level::critical:
      return "critical";
  }
  return "info";
}

// UTC time with milliseconds. The seconds part is formatted once per second
// per thread: this runs for every access-log line.
std::string iso_now() {
  using namespace std::chrono;
  const auto now = system_clock::now();
  const auto ms_total = duration_cast<milliseconds>(now.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms_total / 1000);
  thread_local std::time_t cached_secs = -1;
  thread_local char cached[24];
  if (secs != cached_secs) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::strftime(cached, sizeof cached, "%Y-%m-%dT%H:%M:%S", &tm);
    cached_secs = secs;
  }
  const int ms = static_cast<int>(ms_total % 1000);
  std::string out(cached);
  const char tail[5] = {'.', static_cast<char>('0' + ms / 100),
                        static_cast<char>('0' + ms / 10 % 10), static_cast<char>('0' + ms % 10),
                        'Z'};
  out.append(tail, 5);
  return out;
}

// stdout through libc's buffer; flushed by the flusher thread and on warn+.
class BufferedStdoutSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    std::fwrite(msg.payload.data(), 1, msg.payload.size(), stdout);
    std::fputc('\n', stdout);
  }
  void flush_() override { std::fflush(stdout); }
};

// The process logger. Set once by init() before any thread logs and cleared
// by shutdown() after they stop: the one piece of global state outside the
// composition root, as logging is everywhere.
struct LogState {
  std::shared_ptr<spdlog::logger> logger;
  std::thread flusher;
  Mutex mu;
  CondVar cv;
  bool stop GUARDED_BY(mu) = false;
};
LogState& state() {
  static LogState s;
  return s;
}
spdlog::logger* logger() {
  return state().logger.get();
}

void append_escaped(fmt::memory_buffer& out, std::string_view s) {
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out.append(std::string_view("\\\""));
        break;
      case '\\':
        out.append(std::string_view("\\\\"));
        break;
      case '\n':
        out.append(std::string_view("\\n"));
        break;
      case '\r':
        out.append(std::string_view("\\r"));
        break;
      case '\t':
        out.append(std::string_view("\\t"));
        break;
      default:
        if (c < 0x20) {
          fmt::format_to(std::back_inserter(out), "\\u{:04x}", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

}  // namespace

void init(const std::string& level) {
  auto& st = state();
  auto l = std::make_shared<spdlog::logger>("atelier", std::make_shared<BufferedStdoutSink>());
  l->set_pattern("%v");
  l->set_level(level == "off" ? spdlog::level::off : spdlog::level::from_str(level));
  l->flush_on(spdlog::level::warn);
  st.logger = l;
  {
    MutexLock lock(st.mu);
    st.stop = false;
  }
  st.flusher = std::thread([&st] {
    MutexLock lock(st.mu);
    for (;;) {
      // Up to 200 ms, or until stop is set.
      const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
      while (!st.stop && st.cv.wait_until(st.mu, until)) {
      }
      if (st.stop) break;
      st.logger->flush();
    }
  });
}

void shutdown() {
  auto& st = state();
  if (!st.logger) return;
  {
    MutexLock lock(st.mu);
    st.stop = true;
  }
  st.cv.notify_all();
  if (st.flusher.joinable()) st.flusher.join();
  st.logger->flush();
  st.logger.reset();
}

void access(const AccessRecord& r, Level level) {
  if (!enabled(level)) return;
  fmt::memory_buffer b;
  b.append(std::string_view(R"({"ts":")"));
  b.append(iso_now());
  b.append(std::string_view(R"(","level":")"));
  b.append(std::string_view(level_text(level)));
  b.append(std::string_view(R"(","msg":"request","request_id":)"));
  append_escaped(b, r.request_id);
  b.append(std::string_view(R"(,"method":)"));
  append_escaped(b, r.method);
  b.append(std::string_view(R"(,"route":)"));
  append_escaped(b, r.route);
  fmt::format_to(std::back_inserter(b), R"(,"status":{},"latency_ms":{:.3f},"identity":)", r.status,
                 r.latency_ms);
  append_escaped(b, r.identity);
  b.append(std::string_view(R"(,"tier":)"));
  append_escaped(b, r.tier);
  fmt::format_to(std::back_inserter(b), R"(,"bytes":{}}})", r.bytes);
  logger()->log(to_spd(level), std::string_view(b.data(), b.size()));
}

bool enabled(Level l) {
  return logger() && logger()->should_log(to_spd(l));
}

void write(Level l, const std::string& msg, nlohmann::json fields) {
  if (!enabled(l)) return;
  nlohmann::ordered_json line = nlohmann::ordered_json::object();
  line["ts"] = iso_now();
  line["level"] = level_text(l);
  line["msg"] = msg;
  if (fields.is_object()) {
    for (auto& [k, v] : fields.items()) line[k] = v;  // converted (copied) to ordered_json
  }
  logger()->log(to_spd(l), line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace atelier::log
