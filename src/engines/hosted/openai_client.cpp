#include "engines/hosted/openai_client.h"

#include <utility>

#include "engines/hosted/sse.h"
#include "net/http_client.h"

namespace atelier::engines {

namespace {

net::OutboundRequest post(const std::string& url, const std::string& api_key, const char* accept,
                          const nlohmann::json& body, const OpenAiCallLimits& limits) {
  net::OutboundRequest req;
  req.method = "POST";
  req.url = url;
  req.headers = {{"Content-Type", "application/json"}, {"Accept", accept}};
  if (!api_key.empty()) req.headers.emplace_back("Authorization", "Bearer " + api_key);
  req.body = body.dump();
  req.timeout = limits.timeout;
  req.max_response_bytes = limits.max_response_bytes;
  return req;
}

// What the server's error body says: OpenAI's {"error": {"message": ...}},
// or the start of a body without an error object (a proxy's error page).
std::string error_detail(const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const auto m = j["error"].find("message");
    return m != j["error"].end() && m->is_string() ? m->get<std::string>() : std::string();
  }
  return body.substr(0, 200);
}

}  // namespace

OpenAiClient::OpenAiClient(OpenAiClientOptions opt) : opt_(std::move(opt)) {
  while (!opt_.base_url.empty() && opt_.base_url.back() == '/') opt_.base_url.pop_back();
}

std::string OpenAiClient::url(std::string_view path) const {
  return opt_.base_url + std::string(path);
}

Status OpenAiClient::malformed(std::string_view what) const {
  return Status::unavailable(opt_.who + " sent a malformed " + std::string(what));
}

namespace {

// The transfer's failure, or the server's error status, as the caller's Status.
template <typename T>
Result<T> answer_error(const std::string& who, const Result<net::OutboundResponse>& got) {
  if (!got.is_ok()) {
    if (got.status().code() == Code::deadline_exceeded)
      return Status::deadline_exceeded(who + " was silent or slow: " + got.status().message());
    return got.status();
  }
  const std::string why = error_detail(got->body);
  return Status::unavailable(who + " answered HTTP " + std::to_string(got->status) +
                             (why.empty() ? "" : ": " + why));
}

bool success(const Result<net::OutboundResponse>& got) {
  return got.is_ok() && got->status >= 200 && got->status < 300;
}

}  // namespace

Result<nlohmann::json> OpenAiClient::post_json(std::string_view path, const nlohmann::json& body,
                                               const OpenAiCallLimits& limits,
                                               const WorkContext& work) const {
  const auto req = post(url(path), opt_.api_key, "application/json", body, limits);
  auto got = net::fetch(req, work);
  if (!success(got)) return answer_error<nlohmann::json>(opt_.who, got);
  return nlohmann::json::parse(got->body, nullptr, false);
}

Result<bool> OpenAiClient::post_stream(std::string_view path, const nlohmann::json& body,
                                       OpenAiCallLimits limits, const EventSink& on_event,
                                       const WorkContext& work) const {
  auto req = post(url(path), opt_.api_key, "text/event-stream", body, limits);
  req.idle_timeout = limits.idle_timeout;
  req.on_wait = std::move(limits.on_wait);
  req.wait_tick = limits.wait_tick;

  SseParser parser;
  Status failure = Status::ok();
  bool done = false;
  req.on_body = [&](std::string_view bytes) {
    for (auto& e : parser.feed(bytes)) {
      if (e.data == "[DONE]") {
        done = true;
        continue;
      }
      const auto j = nlohmann::json::parse(e.data, nullptr, false);
      if (!j.is_object()) {
        failure = malformed("stream");
        return false;
      }
      if (j.contains("error")) {
        const auto& err = j["error"];
        std::string why = err.dump();
        if (err.is_object()) {
          const auto m = err.find("message");
          why = m != err.end() && m->is_string() ? m->get<std::string>() : "unknown error";
        }
        failure = Status::unavailable(opt_.who + " failed: " + why);
        return false;
      }
      if (!on_event(j)) return false;  // the caller went away: close upstream
    }
    return parser.pending() < (1u << 20);  // a line that never ends is not a stream
  };
  auto got = net::fetch(req, work);
  if (!failure.is_ok()) return failure;
  if (!success(got)) return answer_error<bool>(opt_.who, got);
  return done;
}

}  // namespace atelier::engines
