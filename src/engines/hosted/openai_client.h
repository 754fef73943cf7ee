// One client for OpenAI-compatible servers (OpenAI, vLLM, llama.cpp's
// server, Ollama's OpenAI route), shared by the hosted engines that speak
// that protocol (the chat engine, the vision describer): POST {base}{path}
// with a JSON body, a bearer token when one is configured, bounded by the
// call's total timeout, the caller's deadline and cancellation (over net/),
// either gathering a JSON answer or streaming the server-sent events of a
// streamed completion. Failures map to Status here, once, naming the server
// as the caller calls it (`who`, e.g. "the chat engine"):
//   - a status outside 2xx: unavailable "<who> answered HTTP <n>: <why>",
//     why being the OpenAI error body's error.message (or the first 200
//     bytes of a body without an error object);
//   - a timeout (total, idle, or the caller's deadline): deadline_exceeded
//     "<who> was silent or slow: ..."; other transport failures as net/ says;
//   - in a stream: an event that is not a JSON object: unavailable "<who>
//     sent a malformed stream"; one carrying "error": unavailable "<who>
//     failed: <error.message>".
//
// Thread safety: const; calls may run concurrently (one transfer each).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/cancel.h"
#include "core/status.h"

namespace atelier::engines {

struct OpenAiClientOptions {
  std::string base_url;  // e.g. https://api.openai.com/v1; trailing slashes are dropped
  std::string api_key;   // sent as a bearer token when not empty
  std::string who;       // the server as error messages name it: "the chat engine"
};

// One call's bounds.
struct OpenAiCallLimits {
  std::chrono::milliseconds timeout{30000};
  std::size_t max_response_bytes = 4u << 20;
  // Streams: silence for this long abandons the stream (zero: only
  // `timeout` bounds it); `on_wait`, when set, is called from the transfer's
  // thread after every `wait_tick` of silence (keep-alives downstream).
  std::chrono::milliseconds idle_timeout{0};
  std::function<void()> on_wait;
  std::chrono::milliseconds wait_tick{15000};
};

class OpenAiClient {
 public:
  explicit OpenAiClient(OpenAiClientOptions opt);
  const std::string& base_url() const { return opt_.base_url; }
  // "{base}{path}", path e.g. "/chat/completions".
  std::string url(std::string_view path) const;

  // POST {base}{path} (Accept: application/json). A 2xx answer's body comes
  // back parsed; one that is not JSON comes back discarded (is_discarded()),
  // for the caller to judge with malformed().
  Result<nlohmann::json> post_json(std::string_view path, const nlohmann::json& body,
                                   const OpenAiCallLimits& limits, const WorkContext& work) const;

  // POST {base}{path} (Accept: text/event-stream) and read the answer as
  // server-sent events: each data event's JSON object goes to `on_event` as
  // it arrives; returning false closes the connection (the caller went
  // away: cancelled). True when the stream sent "data: [DONE]".
  using EventSink = std::function<bool(const nlohmann::json& event)>;
  Result<bool> post_stream(std::string_view path, const nlohmann::json& body,
                           OpenAiCallLimits limits, const EventSink& on_event,
                           const WorkContext& work) const;

  // unavailable "<who> sent a malformed <what>": an answer the caller cannot use.
  Status malformed(std::string_view what) const;

 private:
  OpenAiClientOptions opt_;
};

}  // namespace atelier::engines
