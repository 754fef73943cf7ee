// Chat routes: retrieval-augmented answers (POST /v1/rag/query) and the
// knowledge base's provenance (GET /v1/rag/knowledge).
#pragma once

#include "chat/service.h"
#include "http/route_deps.h"
#include "http/router.h"

namespace atelier::api {

void add_chat_routes(http::Router& router, ApiDeps& deps, chat::ChatService& svc);

}  // namespace atelier::api
