// The seam every language-model engine plugs into. The local composer
// (composer.h) needs none: it writes only verbatim spans of the passages.
// Engines that generate text answer the conversation from numbered sources:
// the hosted OpenAI-compatible engine (openai_engine.h) today; native models
// on atelier's own kernels register the same way, one per model folder, under
// the kind "native".
//
// Thread safety: complete() may be called concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "chat/composer.h"
#include "chat/conversation.h"
#include "chat/sampling.h"
#include "core/cancel.h"
#include "core/status.h"

namespace atelier::chat {

struct EngineOutput {
  std::string text;
  std::optional<std::size_t> prompt_tokens, completion_tokens;  // the engine's own count
  std::string finish_reason = "stop";
};

// Receives the answer's text as it arrives; false stops (the caller is gone).
using DeltaSink = std::function<bool(std::string_view text)>;

class ChatEngine {
 public:
  virtual ~ChatEngine() = default;
  // The name callers give as `model`.
  virtual const std::string& model() const = 0;
  // "openai" or "native": the engine label of metrics, and /v1/models' owner.
  virtual std::string_view kind() const = 0;
  // Answers the last user turn of `history` from `sources` (cited [n]),
  // passing text to `on_delta` as it is made. Stops within a few tens of
  // milliseconds of `work` being cancelled. `on_wait` (optional) is called
  // while the engine is silent, so a stream can send keep-alives.
  // `sampling` is passed on to the model (the engine says "length" when
  // max_tokens cut the answer).
  virtual Result<EngineOutput> complete(const std::vector<Message>& history,
                                        const std::vector<Retrieved>& sources,
                                        const Sampling& sampling, const DeltaSink& on_delta,
                                        const WorkContext& work, std::function<void()> on_wait) = 0;
};

}  // namespace atelier::chat
