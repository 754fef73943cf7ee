// The chat capability's routes: conversations, GET /v1/models, POST
// /v1/rag/query and GET /v1/rag/knowledge; the completions route is in
// completion_routes.cpp, the socket in socket_routes.cpp.
#include "chat/routes.h"

#include "chat/completion_routes.h"
#include "chat/request.h"
#include "chat/socket_routes.h"
#include "chat/stream_cap.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/json.h"
#include "http/paging.h"
#include "http/problem.h"
#include "search/routes.h"

namespace atelier::api {

namespace {

using http::Access;
using http::Exec;
using http::Method;
using http::RequestContext;
using http::Response;
using nlohmann::ordered_json;

ordered_json ranks(const chat::Retrieved& r) {
  return {{"score", json::round3(r.score)},
          {"bm25_rank", r.bm25_rank ? ordered_json(*r.bm25_rank) : ordered_json(nullptr)},
          {"vector_rank", r.vector_rank ? ordered_json(*r.vector_rank) : ordered_json(nullptr)}};
}

ordered_json conversation_json(const chat::Conversation& c) {
  return {{"id", c.id},
          {"title", c.title},
          {"created_at", http::seconds_of_ms(c.created_at)},
          {"updated_at", http::seconds_of_ms(c.updated_at)},
          {"messages", c.messages}};
}

ordered_json messages_json(const std::vector<chat::Message>& messages) {
  ordered_json arr = ordered_json::array();
  for (const auto& m : messages) {
    auto sources = ordered_json::parse(m.sources_json, nullptr, false);
    arr.push_back({{"seq", m.seq},
                   {"role", m.role},
                   {"content", m.content},
                   {"sources", sources.is_discarded() ? ordered_json::array() : sources},
                   {"created_at", http::seconds_of_ms(m.created_at)}});
  }
  return arr;
}

const nlohmann::json kRagExample = nlohmann::json::parse(R"({
  "answer": "tweed: thick woolly fabric; a coarse twill [1] flannel: a soft light woolen fabric; used for clothing [2] Both are kinds of fabric.",
  "found": true,
  "sources": [
    {"n": 1, "id": "wn30-n-04516116", "collection": "style-glossary", "title": "tweed",
     "snippet": "tweed: thick woolly fabric; a coarse twill [a kind of fabric]",
     "score": 0.033, "bm25_rank": 1, "vector_rank": 2},
    {"n": 2, "id": "wn30-n-03364340", "collection": "style-glossary", "title": "flannel",
     "snippet": "flannel: a soft light woolen fabric; used for clothing [a kind of fabric]",
     "score": 0.032, "bm25_rank": 2, "vector_rank": 1}],
  "retrieval": [{"id": "wn30-n-04516116", "collection": "style-glossary", "score": 0.033,
                 "bm25_rank": 1, "vector_rank": 2}],
  "engine": "local",
  "timings_ms": {"retrieval": 2.1, "compose": 0.02}
})");

}  // namespace

// Sources as the answer's [n] markers resolve them.
ordered_json sources_json(const std::vector<chat::Retrieved>& sources) {
  ordered_json arr = ordered_json::array();
  for (std::size_t i = 0; i < sources.size(); ++i) {
    const auto& x = sources[i];
    ordered_json s = {{"n", i + 1},
                      {"id", x.id},
                      {"collection", x.collection},
                      {"title", x.title.empty() ? ordered_json(nullptr) : ordered_json(x.title)},
                      {"snippet", x.text}};
    s.update(ranks(x));
    arr.push_back(std::move(s));
  }
  return arr;
}

// The local engine's answer in pieces of a few words, split after spaces:
// joined they are the answer.
std::vector<std::string> answer_pieces(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0, words = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i < text.size() && (text[i] != ' ' || ++words % 4 != 0)) continue;
    const std::size_t end = i < text.size() ? i + 1 : i;
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end;
  }
  return out;
}

UserDataPart chat_user_data(chat::ChatService& svc) {
  UserDataPart p;
  p.name = "conversations";
  p.export_all = [&svc](const std::string& owner) -> Result<ordered_json> {
    auto repo = svc.conversations();
    ATELIER_ASSIGN_OR_RETURN(auto list, repo.list(owner, 1'000'000));
    ordered_json arr = ordered_json::array();
    for (const auto& c : list) {
      ATELIER_ASSIGN_OR_RETURN(auto messages, repo.messages(owner, c.id));
      ordered_json j = conversation_json(c);
      j["messages"] = messages_json(messages);
      arr.push_back(std::move(j));
    }
    return ordered_json{{"conversations", arr}};
  };
  p.erase_all = [&svc](const std::string& owner) {
    return svc.conversations().remove_owner(owner);
  };
  return p;
}

namespace {

// The handlers of add_chat_routes(), named after their routes' operation ids,
// over what they need.
struct ChatHandlers {
  ApiDeps& d;
  chat::ChatService& svc;
  const std::vector<std::string> embedding_models;

  Result<Response> handle_create_conversation(const RequestContext& ctx) const;
  Result<Response> handle_list_conversations(const RequestContext& ctx) const;
  Result<Response> handle_get_conversation(const RequestContext& ctx) const;
  Result<Response> handle_delete_conversation(const RequestContext& ctx) const;
  Result<Response> handle_list_models(const RequestContext&) const;
  Result<Response> handle_rag_query(const RequestContext& ctx) const;
  Result<Response> handle_rag_knowledge(const RequestContext& ctx) const;
};

Result<Response> ChatHandlers::handle_create_conversation(const RequestContext& ctx) const {
  std::string title;
  if (!ctx.req.body.empty()) {
    ATELIER_ASSIGN_OR_RETURN(auto body, http::parse_json_body(ctx.req));
    if (body.contains("title")) {
      if (!body["title"].is_string()) return Status::invalid_argument("'title' is a string");
      title = body["title"].get<std::string>();
    }
  }
  ATELIER_ASSIGN_OR_RETURN(auto c, svc.create_conversation(ctx.identity.id, title, ctx.work));
  Response r = Response::json_ordered(201, conversation_json(c));
  r.set_header("Location", "/v1/conversations/" + c.id);
  return r;
}

Result<Response> ChatHandlers::handle_list_conversations(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto start, http::page_start(ctx, *d.cursors, "conversations"));
  ATELIER_ASSIGN_OR_RETURN(const int limit, http::page_limit(ctx));
  std::optional<PagePosition> next;
  ATELIER_ASSIGN_OR_RETURN(
      auto list, svc.conversations().in(ctx.work).list(ctx.identity.id, limit, start, &next));
  ordered_json arr = ordered_json::array();
  for (const auto& c : list) arr.push_back(conversation_json(c));
  return http::page_answer(ctx, *d.cursors, "conversations", next, {{"conversations", arr}});
}

Result<Response> ChatHandlers::handle_get_conversation(const RequestContext& ctx) const {
  auto repo = svc.conversations().in(ctx.work);
  const std::string& id = ctx.req.path_params.at("id");
  ATELIER_ASSIGN_OR_RETURN(const std::int64_t limit, ctx.req.query_int("limit", 100, 1, 1000));
  // A cursor continues one conversation's turns, after the turn it names.
  const std::string list = "conversation:" + id;
  ATELIER_ASSIGN_OR_RETURN(auto start, http::page_start(ctx, *d.cursors, list));
  const std::int64_t after = start ? start->ts : 0;
  if (after < 0 || after > 1'000'000'000) return Status::invalid_argument("malformed cursor");
  ATELIER_ASSIGN_OR_RETURN(auto c, repo.find(ctx.identity.id, id));
  ATELIER_ASSIGN_OR_RETURN(
      auto messages,
      repo.messages(ctx.identity.id, id, static_cast<int>(after), static_cast<int>(limit)));
  ordered_json j = conversation_json(c);
  std::optional<PagePosition> next;
  if (static_cast<std::int64_t>(messages.size()) == limit)
    next = PagePosition{messages.back().seq, ""};
  j["messages"] = messages_json(messages);
  return http::page_answer(ctx, *d.cursors, list, next, std::move(j));
}

Result<Response> ChatHandlers::handle_delete_conversation(const RequestContext& ctx) const {
  ATELIER_RETURN_IF_ERROR(
      svc.conversations().in(ctx.work).remove(ctx.identity.id, ctx.req.path_params.at("id")));
  return Response::no_content();
}

Result<Response> ChatHandlers::handle_list_models(const RequestContext&) const {
  ordered_json data = ordered_json::array();
  // `engine`: local (the grounded composer), openai (a hosted
  // OpenAI-compatible server) or native (atelier's own kernels).
  auto add = [&data](const std::string& id, const char* kind, const std::string& engine) {
    ordered_json m = {
        {"id", id}, {"object", "model"}, {"created", 0}, {"owned_by", "atelier"}, {"kind", kind}};
    if (!engine.empty()) m["engine"] = engine;
    data.push_back(std::move(m));
  };
  for (const auto& m : svc.models()) add(m.name, "chat", m.kind);
  for (const auto& m : embedding_models) add(m, "embedding", "");
  return Response::json_ordered(200, {{"object", "list"}, {"data", data}});
}

Result<Response> ChatHandlers::handle_rag_query(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto body, http::parse_json_body(ctx.req));
  chat::RagRequest r;
  if (!body.contains("question") || !body["question"].is_string())
    return Status::invalid_argument("'question' is required (a string)");
  r.question = body["question"].get<std::string>();
  if (body.contains("k")) {
    const auto& k = body["k"];
    if (!k.is_number_integer() || k.get<std::int64_t>() < 1 || k.get<std::int64_t>() > 20)
      return Status::invalid_argument("'k' is an integer from 1 to 20");
    r.k = k.get<int>();
  }
  ATELIER_ASSIGN_OR_RETURN(r.collections, chat::parse_collections(body));
  if (body.contains("filter")) {
    if (!body["filter"].is_string()) return Status::invalid_argument("'filter' is key:value");
    ATELIER_ASSIGN_OR_RETURN(r.filter, parse_metadata_filter(body["filter"].get<std::string>()));
  }
  ATELIER_ASSIGN_OR_RETURN(auto a, svc.rag(r, caller_of(ctx.identity), ctx.work));
  std::vector<chat::Retrieved> cited;
  for (const auto& c : a.answer.cited) cited.push_back(c.source);
  const ordered_json sources = sources_json(cited);
  ordered_json retrieval = ordered_json::array();
  for (const auto& x : a.retrieved) {
    ordered_json j = {{"id", x.id}, {"collection", x.collection}};
    j.update(ranks(x));
    retrieval.push_back(std::move(j));
  }
  ordered_json j;
  j["answer"] = a.answer.text;
  j["found"] = a.answer.found;
  j["sources"] = sources;
  j["retrieval"] = retrieval;
  j["engine"] = "local";
  j["timings_ms"] = {{"retrieval", json::round3(a.retrieval_ms)},
                     {"compose", json::round3(a.compose_ms)}};
  return Response::json_ordered(200, j);
}

Result<Response> ChatHandlers::handle_rag_knowledge(const RequestContext& ctx) const {
  ATELIER_RETURN_IF_ERROR(svc.ensure_knowledge(ctx.work));
  ordered_json j;
  j["collection"] = chat::kKnowledgeCollection;
  j["passages"] = svc.knowledge_size();
  j["source"] =
      "WordNet 3.0 noun synsets in the style domains, built from Debian's "
      "wordnet-base";
  j["license"] = "WordNet-3.0";
  j["license_text"] = chat::kWordNetLicence;
  return Response::json_ordered(200, j);
}

}  // namespace

void add_chat_routes(http::Router& router, ApiDeps& d, chat::ChatService& svc,
                     std::vector<std::string> embedding_models, ConcurrencyLimiter& streams) {
  auto observe = d.metrics.chat_observer({"local", "openai", "native"});
  auto cap = std::make_shared<chat::StreamCap>(d.config.chat_streams_per_user, streams);
  add_chat_socket_route(router, d, svc, observe, cap);
  add_chat_completions_route(router, d, svc, observe, cap);
  const auto h =
      std::make_shared<const ChatHandlers>(ChatHandlers{d, svc, std::move(embedding_models)});
  router.add({
      .method = Method::post,
      .path = "/v1/conversations",
      .operation_id = "create_conversation",
      .summary = "A new conversation; POST /v1/chat/completions with its 'conversation_id' "
                 "answers with its history and appends the turns",
      .tag = "chat",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .request_schema = {{"type", "object"},
                         {"properties", {{"title", {{"type", "string"}, {"maxLength", 200}}}}}},
      .request_example = {{"title", "fabrics for winter"}},
      .response_example = nlohmann::json::parse(R"({"id": "cv_4f0a9c2b7e1d3a5c6b8e9f01",
        "title": "fabrics for winter", "created_at": 1795690000, "updated_at": 1795690000,
        "messages": 0})"),
      .success_status = 201,
      .idempotency = http::Idempotency::pipeline,
      .handler = http::bind_handler(h, &ChatHandlers::handle_create_conversation),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/conversations",
      .operation_id = "list_conversations",
      .summary = "The caller's conversations, most recently updated first (cursor pagination)",
      .tag = "chat",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_example =
          nlohmann::json::parse(R"({"conversations": [{"id": "cv_4f0a9c2b7e1d3a5c6b8e9f01",
        "title": "fabrics for winter", "created_at": 1795690000, "updated_at": 1795690004,
        "messages": 2}], "next_cursor": null})"),
      .query = {http::limit_param(), http::cursor_param()},
      .handler = http::bind_handler(h, &ChatHandlers::handle_list_conversations),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/conversations/{id}",
      .operation_id = "get_conversation",
      .summary = "A conversation and its turns, oldest first, a page at a time: at most 'limit' "
                 "(default 100); 'next_cursor' continues",
      .tag = "chat",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_example = nlohmann::json::parse(R"({"id": "cv_4f0a9c2b7e1d3a5c6b8e9f01",
        "title": "fabrics for winter", "created_at": 1795690000, "updated_at": 1795690004,
        "messages": [{"seq": 1, "role": "user", "content": "What is tweed?", "sources": [],
                      "created_at": 1795690004},
                     {"seq": 2, "role": "assistant",
                      "content": "tweed: thick woolen fabric used for clothing; originated in Scotland [1]",
                      "sources": [{"n": 1, "id": "wn30-n-04516116", "collection": "style-glossary"}],
                      "created_at": 1795690004}], "next_cursor": null})"),
      .errors = {404},
      .query = {http::QueryParam{"limit", "1-1000, default 100", {{"type", "integer"}}},
                http::cursor_param()},
      .handler = http::bind_handler(h, &ChatHandlers::handle_get_conversation),
  });
  router.add({
      .method = Method::del,
      .path = "/v1/conversations/{id}",
      .operation_id = "delete_conversation",
      .summary = "Deletes a conversation and its turns",
      .tag = "chat",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_content_type = "",
      .success_status = 204,
      .errors = {404},
      .handler = http::bind_handler(h, &ChatHandlers::handle_delete_conversation),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/models",
      .operation_id = "list_models",
      .summary = "The chat and embedding models this server answers with (OpenAI's shape)",
      .tag = "chat",
      .access = Access::open,
      .response_example = nlohmann::json::parse(
          R"({"object": "list", "data": [{"id": "local", "object": "model", "created": 0,
        "owned_by": "atelier", "kind": "chat", "engine": "local"}, {"id": "glove-sif-100d",
        "object": "model", "created": 0, "owned_by": "atelier", "kind": "embedding"}]})"),
      .response_optional = {"engine"},  // chat models name their engine
      .openai_errors = true,
      .handler = http::bind_handler(h, &ChatHandlers::handle_list_models),
  });
  router.add({
      .method = Method::post,
      .path = "/v1/rag/query",
      .operation_id = "rag_query",
      .summary = "A grounded answer to a question from the style knowledge base (WordNet) and the "
                 "collections named: every sentence is a verbatim span of a cited source or a "
                 "fixed connective; when nothing relevant is found it says so",
      .tag = "chat",
      .access = Access::caller,
      .cost = 1,
      .exec = Exec::worker_pool,
      .request_schema = {{"type", "object"},
                         {"required", {"question"}},
                         {"properties",
                          {{"question", {{"type", "string"}, {"maxLength", 4000}}},
                           {"collections", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                           {"k", {{"type", "integer"}, {"minimum", 1}, {"maximum", 20}}},
                           {"filter", {{"type", "string"}, {"description", "key:value"}}}}}},
      .request_example = {{"question", "What is the difference between tweed and flannel?"}},
      .response_example = kRagExample,
      .errors = {404, 503},
      .handler = http::bind_handler(h, &ChatHandlers::handle_rag_query),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/rag/knowledge",
      .operation_id = "rag_knowledge",
      .summary = "The default knowledge base: its collection, size, source and licence notice",
      .tag = "chat",
      .access = Access::open,
      .exec = Exec::worker_pool,
      .response_example =
          nlohmann::json::parse(R"({"collection": "style-glossary", "passages": 1597,
        "source": "WordNet 3.0 noun synsets in the style domains, built from Debian's wordnet-base",
        "license": "WordNet-3.0",
        "license_text": "This software and database is being provided to you, the LICENSEE, by ..."})"),
      .handler = http::bind_handler(h, &ChatHandlers::handle_rag_knowledge),
  });
}

}  // namespace atelier::api
