#include "chat/openai_engine.h"

#include <nlohmann/json.hpp>

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

OpenAiChatEngine::OpenAiChatEngine(OpenAiChatOptions opt)
    : opt_(std::move(opt)), client_({opt_.base_url, opt_.api_key, "the chat engine"}) {}

Result<EngineOutput> OpenAiChatEngine::complete(const std::vector<Message>& history,
                                                const std::vector<Retrieved>& sources,
                                                const Sampling& sampling, const DeltaSink& on_delta,
                                                const WorkContext& work,
                                                std::function<void()> on_wait) {
  ATELIER_RETURN_IF_ERROR(breaker_.admit());
  auto out = call(history, sources, sampling, on_delta, work, std::move(on_wait));
  breaker_.record(out.status());
  return out;
}

Result<EngineOutput> OpenAiChatEngine::call(const std::vector<Message>& history,
                                            const std::vector<Retrieved>& sources,
                                            const Sampling& sampling, const DeltaSink& on_delta,
                                            const WorkContext& work,
                                            std::function<void()> on_wait) {
  nlohmann::json messages = nlohmann::json::array();
  messages.push_back({{"role", "system"}, {"content", system_prompt(sources)}});
  for (const auto& m : history) {
    if (m.role == "system") continue;  // the engine's instructions are ours
    messages.push_back({{"role", m.role}, {"content", m.content}});
  }
  nlohmann::json body = {{"model", opt_.model},
                         {"messages", messages},
                         {"stream", true},
                         {"stream_options", {{"include_usage", true}}}};
  // The caller's parameters as OpenAI-compatible servers take them
  // (max_tokens: what llama.cpp, vLLM and OpenAI's chat models all read).
  if (sampling.max_tokens) body["max_tokens"] = *sampling.max_tokens;
  if (sampling.temperature) body["temperature"] = *sampling.temperature;
  if (sampling.top_p) body["top_p"] = *sampling.top_p;
  if (!sampling.stop.empty()) body["stop"] = sampling.stop;
  if (sampling.seed) body["seed"] = *sampling.seed;
  engines::OpenAiCallLimits limits;
  limits.timeout = opt_.timeout;
  limits.max_response_bytes = 8u << 20;
  limits.idle_timeout = opt_.idle;
  limits.on_wait = std::move(on_wait);
  limits.wait_tick = opt_.keepalive;

  EngineOutput out;
  const auto on_event = [&](const nlohmann::json& j) {
    if (j.contains("usage") && j["usage"].is_object()) {
      const auto& u = j["usage"];
      if (u.contains("prompt_tokens") && u["prompt_tokens"].is_number_unsigned())
        out.prompt_tokens = u["prompt_tokens"].get<std::size_t>();
      if (u.contains("completion_tokens") && u["completion_tokens"].is_number_unsigned())
        out.completion_tokens = u["completion_tokens"].get<std::size_t>();
    }
    const auto ch = j.find("choices");
    if (ch == j.end() || !ch->is_array()) return true;
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
    return true;
  };
  ATELIER_ASSIGN_OR_RETURN(const bool done, client_.post_stream("/chat/completions", body,
                                                                std::move(limits), on_event, work));
  if (!done && out.text.empty())
    return Status::unavailable("the chat engine's stream ended without an answer");
  return out;
}

}  // namespace atelier::chat
