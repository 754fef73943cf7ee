// OpenAI's length and sampling parameters on a completion, and how the
// local composer's answer is held to them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace atelier::chat {

// OpenAI's length and sampling parameters, as a completion request gave
// them (unset: the engine's default).
struct Sampling {
  std::optional<int> max_tokens;  // max_completion_tokens or max_tokens
  std::optional<double> temperature, top_p;
  std::vector<std::string> stop;  // at most 4 sequences
  std::optional<std::int64_t> seed;
};

// `text` held to `s`: cut before the first of its stop sequences, or at the
// end of the last whole word within max_tokens (as estimated_tokens counts
// them). The finish reason: "length" when max_tokens cut it, else "stop".
std::string limit_answer(std::string* text, const Sampling& s);

}  // namespace atelier::chat
