#include "chat/openai_engine.h"

#include <nlohmann/json.hpp>

#include "chat/sse.h"
#include "net/http_client.h"

namespace atelier::chat {

namespace {

// Source text cannot close the data block early.
std::string defanged(std::string s) {
  for (const char* mark : {"<<<", ">>>"}) {
    for (auto at = s.find(mark); at != std::string::npos; at = s.find(mark, at))
      s.replace(at, 3, "‹‹‹");
  }
  return s;
}

}  // namespace

std::string system_prompt(const std::vector<Retrieved>& sources) {
  std::string p = kInstructions;
  p += "\n\n<<<SOURCES\n";
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const auto& s = sources[i];
    p += "[" + std::to_string(i + 1) + "] ";
    if (!s.title.empty()) p += "(" + defanged(s.title) + ") ";
    p += defanged(s.text) + "\n";
  }
  p += "SOURCES>>>";
  return p;
}

OpenAiChatEngine::OpenAiChatEngine(OpenAiChatOptions opt) : opt_(std::move(opt)) {
  while (!opt_.base_url.empty() && opt_.base_url.back() == '/') opt_.base_url.pop_back();
}

Result<EngineOutput> OpenAiChatEngine::complete(const std::vector<Message>& history,
                                                const std::vector<Retrieved>& sources,
                                                const DeltaSink& on_delta, const WorkContext& work,
                                                std::function<void()> on_wait) {
  ATELIER_RETURN_IF_ERROR(breaker_.admit());
  auto out = call(history, sources, on_delta, work, std::move(on_wait));
  breaker_.record(out.status());
  return out;
}

Result<EngineOutput> OpenAiChatEngine::call(const std::vector<Message>& history,
                                            const std::vector<Retrieved>& sources,
                                            const DeltaSink& on_delta, const WorkContext& work,
                                            std::function<void()> on_wait) {
  nlohmann::json messages = nlohmann::json::array();
  messages.push_back({{"role", "system"}, {"content", system_prompt(sources)}});
  for (const auto& m : history) {
    if (m.role == "system") continue;  // the engine's instructions are ours
    messages.push_back({{"role", m.role}, {"content", m.content}});
  }
  const nlohmann::json body = {{"model", opt_.model},
                               {"messages", messages},
                               {"stream", true},
                               {"stream_options", {{"include_usage", true}}}};
  net::OutboundRequest req;
  req.method = "POST";
  req.url = opt_.base_url + "/chat/completions";
  req.headers = {{"Content-Type", "application/json"}, {"Accept", "text/event-stream"}};
  if (!opt_.api_key.empty()) req.headers.emplace_back("Authorization", "Bearer " + opt_.api_key);
  req.body = body.dump();
  req.timeout = opt_.timeout;
  req.idle_timeout = opt_.idle;
  req.on_wait = std::move(on_wait);
  req.wait_tick = opt_.keepalive;
  req.max_response_bytes = 8u << 20;

  EngineOutput out;
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
        failure = Status::unavailable("the chat engine sent a malformed stream");
        return false;
      }
      if (j.contains("error")) {
        const auto& err = j["error"];
        failure = Status::unavailable(
            "the chat engine failed: " +
            (err.is_object() ? err.value("message", std::string("unknown error")) : err.dump()));
        return false;
      }
      if (j.contains("usage") && j["usage"].is_object()) {
        const auto& u = j["usage"];
        if (u.contains("prompt_tokens") && u["prompt_tokens"].is_number_unsigned())
          out.prompt_tokens = u["prompt_tokens"].get<std::size_t>();
        if (u.contains("completion_tokens") && u["completion_tokens"].is_number_unsigned())
          out.completion_tokens = u["completion_tokens"].get<std::size_t>();
      }
      const auto ch = j.find("choices");
      if (ch == j.end() || !ch->is_array()) continue;
      for (const auto& c : *ch) {
        if (!c.is_object()) continue;
        if (c.contains("finish_reason") && c["finish_reason"].is_string())
          out.finish_reason = c["finish_reason"].get<std::string>();
        const auto d = c.find("delta");
        if (d == c.end() || !d->is_object()) continue;
        const auto t = d->find("content");
        if (t == d->end() || !t->is_string()) continue;
        const std::string piece = t->get<std::string>();
        if (piece.empty()) continue;
        out.text += piece;
        if (!on_delta(piece)) return false;  // the caller went away: close upstream
      }
    }
    return parser.pending() < (1u << 20);  // a line that never ends is not a stream
  };
  auto got = net::fetch(req, work);
  if (!failure.is_ok()) return failure;
  if (!got.is_ok()) {
    if (got.status().code() == Code::deadline_exceeded)
      return Status::deadline_exceeded("the chat engine was silent or slow: " +
                                       got.status().message());
    return got.status();
  }
  if (got->status < 200 || got->status >= 300) {
    const auto j = nlohmann::json::parse(got->body, nullptr, false);
    std::string why = j.is_object() && j.contains("error") && j["error"].is_object()
                          ? j["error"].value("message", std::string())
                          : got->body.substr(0, 200);
    return Status::unavailable("the chat engine answered " + std::to_string(got->status) +
                               (why.empty() ? "" : ": " + why));
  }
  if (!done && out.text.empty())
    return Status::unavailable("the chat engine's stream ended without an answer");
  return out;
}

}  // namespace atelier::chat
