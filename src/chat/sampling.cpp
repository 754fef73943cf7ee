#include "chat/sampling.h"

#include <algorithm>

#include "chat/conversation.h"

namespace atelier::chat {

std::string limit_answer(std::string* text, const Sampling& s) {
  std::size_t cut = std::string::npos;
  for (const auto& stop : s.stop) {
    if (stop.empty()) continue;
    cut = std::min(cut, text->find(stop));
  }
  if (cut != std::string::npos) text->resize(cut);
  if (!s.max_tokens || estimated_tokens(*text) <= static_cast<std::size_t>(*s.max_tokens))
    return "stop";
  // estimated_tokens is a quarter of the bytes, rounded up: 4 n bytes are n tokens.
  std::size_t end = 4 * static_cast<std::size_t>(*s.max_tokens);
  const std::size_t space = text->rfind(' ', end);
  if (space != std::string::npos && space > 0) {
    end = space;
  } else {
    while (end > 0 && (static_cast<unsigned char>((*text)[end]) & 0xC0) == 0x80) --end;
  }
  text->resize(end);
  return "length";
}

}  // namespace atelier::chat
