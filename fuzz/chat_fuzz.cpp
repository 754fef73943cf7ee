// Chat intake (issue 23): the body of POST /v1/chat/completions and the
// chat WebSocket's frames. Any bytes get a request or a status, never an
// exception (a wrong JSON type used to be a 500), and what is accepted keeps
// its bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "chat/request.h"
#include "core/json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto body = atelier::json::parse(text); body.is_ok()) {
    if (auto r = atelier::chat::parse_completion_request(*body); r.is_ok()) {
      if (r->messages.empty() || r->messages.size() > atelier::chat::kMaxRequestMessages ||
          r->model.size() > atelier::chat::kMaxModelName ||
          r->collections.size() > atelier::chat::kMaxCollections)
        std::abort();
    }
  }
  if (auto f = atelier::chat::parse_socket_frame(text); f.is_ok()) {
    if (f->type == atelier::chat::SocketFrame::Type::message && f->content.empty()) std::abort();
  }
  return 0;
}
