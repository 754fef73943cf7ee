// Server-sent events read incrementally (an upstream's streamed answer):
// bytes go in as they arrive, complete events come out. Lines may be split
// across pieces; CRLF and LF both end lines; comment lines (": ping") are
// skipped; several data lines join with "\n".
//
// Thread safety: one parser per stream.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace atelier::engines {

struct SseEvent {
  std::string event;  // "" : the default "message"
  std::string data;
};

class SseParser {
 public:
  std::vector<SseEvent> feed(std::string_view bytes);
  // Bytes held waiting for the end of a line (a cap guards against a stream
  // that never ends one).
  std::size_t pending() const { return line_.size() + current_.data.size(); }

 private:
  void line(std::string_view l, std::vector<SseEvent>& out);
  std::string line_;
  SseEvent current_;
  bool has_data_ = false;
};

}  // namespace atelier::engines
