// Chat routes: OpenAI-compatible chat completions (POST /v1/chat/completions,
// GET /v1/models), retrieval-augmented answers (POST /v1/rag/query) and the
// knowledge base's provenance (GET /v1/rag/knowledge).
#pragma once

#include "auth/user_data.h"
#include "chat/service.h"
#include "http/route_deps.h"
#include "http/router.h"

namespace atelier::api {

// `embedding_models`: listed by GET /v1/models beside the chat models.
// Registers the chat metrics (Metrics::chat_observer) on deps.metrics.
void add_chat_routes(http::Router& router, ApiDeps& deps, chat::ChatService& svc,
                     std::vector<std::string> embedding_models);
// The caller's conversations in data export and account deletion.
UserDataPart chat_user_data(chat::ChatService& svc);

}  // namespace atelier::api
