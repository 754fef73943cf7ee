// GET /v1/chat/ws: chat over a WebSocket, for browsers and other clients
// that keep one connection for a whole conversation.
//
// The frame protocol (JSON text messages):
//   client -> server
//     {"type":"auth", "token":"<API key or JWT>"}   first frame, when the
//                                                   handshake carried no credentials
//     {"type":"message", "content":"...", "conversation_id"?, "model"?,
//      "collections"?}                               one turn at a time
//     {"type":"cancel"}                              stops the turn; the socket stays
//     {"type":"ping"}                                answered {"type":"pong"}
//   server -> client
//     {"type":"ready", "models":[...], "anonymous":bool}   once the caller is known
//     {"type":"sources", "turn", "sources":[...]}          what the [n] markers resolve to
//     {"type":"delta", "turn", "content":"..."}            the answer, in pieces
//     {"type":"done", "turn", "finish_reason":"stop"|"cancelled", "model",
//      "conversation_id"?, "usage":{...}, "timings":{...}}
//     {"type":"error", "turn"?, "status", "code", "message", "retry_after"?}
// Without a conversation_id the socket keeps the turns itself, so a
// follow-up ("and flannel?") has its context. Each turn is metered like a
// completion: rate limits, one quota unit, and the delivered tokens when
// chat_tokens_per_unit is set. WebSocket pings keep the connection alive.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "chat/service.h"
#include "chat/stream_cap.h"
#include "http/route_deps.h"
#include "http/router.h"

namespace atelier::api {

using ChatObserver = std::function<void(const std::string& engine, const std::string& outcome,
                                        double ttft_seconds, double seconds, std::size_t tokens)>;

void add_chat_socket_route(http::Router& router, ApiDeps& deps, chat::ChatService& svc,
                           ChatObserver observe, std::shared_ptr<chat::StreamCap> cap);

// Quota units for `tokens` answer tokens delivered (0 when per-token
// charging is off).
std::int64_t token_units(std::size_t tokens, int tokens_per_unit);

}  // namespace atelier::api
