// Chat routes: OpenAI-compatible chat completions (POST /v1/chat/completions,
// GET /v1/models), retrieval-augmented answers (POST /v1/rag/query) and the
// knowledge base's provenance (GET /v1/rag/knowledge).
#pragma once

#include "chat/service.h"
#include "http/route_deps.h"
#include "http/router.h"
#include "platform/user_data.h"
#include "quota/concurrency.h"

namespace atelier::api {

// `embedding_models`: listed by GET /v1/models beside the chat models;
// `streams` counts each caller's open streams (SSE and WebSocket), capped at
// chat_streams_per_user, and must outlive the routes.
// Registers the chat metrics (Metrics::chat_observer) on deps.metrics.
void add_chat_routes(http::Router& router, ApiDeps& deps, chat::ChatService& svc,
                     std::vector<std::string> embedding_models, ConcurrencyLimiter& streams);
// The sources an answer's [n] markers resolve to, as every chat route shows
// them (n, id, collection, title, snippet, score and ranks).
nlohmann::ordered_json sources_json(const std::vector<chat::Retrieved>& sources);
// The local engine's answer in streamed pieces of a few words, split after
// spaces: joined, they are the answer.
std::vector<std::string> answer_pieces(const std::string& text);
// The caller's conversations in data export and account deletion.
UserDataPart chat_user_data(chat::ChatService& svc);

}  // namespace atelier::api
