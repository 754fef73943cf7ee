// POST /v1/chat/completions: OpenAI's chat completion, whole or streamed as
// server-sent events, from the local grounded composer or an engine the
// configuration names.
#pragma once

#include <memory>

#include "chat/service.h"
#include "chat/socket_routes.h"
#include "chat/stream_cap.h"
#include "http/route_deps.h"
#include "http/router.h"

namespace atelier::api {

void add_chat_completions_route(http::Router& router, ApiDeps& deps, chat::ChatService& svc,
                                ChatObserver observe, std::shared_ptr<chat::StreamCap> cap);

}  // namespace atelier::api
