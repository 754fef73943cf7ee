// POST /v1/rag/query and GET /v1/rag/knowledge.
#include "chat/routes.h"

#include <chrono>
#include <functional>
#include <mutex>
#include <unordered_map>

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
          {"created_at", c.created_at},
          {"updated_at", c.updated_at},
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
                   {"created_at", m.created_at}});
  }
  return arr;
}

// A streamed completion as OpenAI sends it: chat.completion.chunk events
// (the first carries the role and the sources, then the text in pieces, one
// with finish_reason), a usage chunk with no choices when asked, then
// [DONE]; an error after the stream began is a data event with `error`
// (which OpenAI's clients raise). Each event is written as it is made; a
// client that has gone stops the rest. Where the transport cannot stream
// (in-process tests) the events are gathered into one body.
class SseOut {
 public:
  SseOut(const RequestContext& ctx, std::string id, std::int64_t created, std::string model,
         bool include_usage)
      : ctx_(ctx),
        id_(std::move(id)),
        created_(created),
        model_(std::move(model)),
        include_usage_(include_usage) {}

  void open(const std::vector<chat::Retrieved>& sources) {
    if (opened_) return;
    opened_ = true;
    head_ = Response::text(200, "", "text/event-stream");
    head_.set_header("Cache-Control", "no-cache");
    head_.set_header("X-Accel-Buffering", "no");
    w_ = ctx_.stream ? ctx_.stream(head_) : nullptr;
    ordered_json first = event(choice({{"role", "assistant"}, {"content", ""}}, nullptr));
    first["sources"] = sources_json(sources);
    send(first);
  }
  bool opened() const { return opened_; }
  // False once the client has gone.
  bool text(std::string_view piece) {
    send(event(choice({{"content", std::string(piece)}}, nullptr)));
    return !gone_;
  }
  void finish(const std::string& reason, ordered_json timings, std::size_t prompt,
              std::size_t completion) {
    ordered_json last = event(choice(ordered_json::object(), reason));
    last["timings"] = std::move(timings);
    send(last);
    if (include_usage_) {
      ordered_json u = event(ordered_json::array(), false);
      u["usage"] = {{"prompt_tokens", prompt},
                    {"completion_tokens", completion},
                    {"total_tokens", prompt + completion}};
      send(u);
    }
    raw("data: [DONE]\n\n");
  }
  void error(const Status& st) {
    ordered_json e = {
        {"error",
         {{"message", st.message()},
          {"type", http::http_status(st.code()) < 500 ? "invalid_request_error" : "server_error"},
          {"param", nullptr},
          {"code", http::http_status(st.code())}}}};
    raw("data: " + e.dump() + "\n\n");
  }
  // A comment line: keeps proxies and clients from timing out a quiet stream.
  void ping() { raw(": ping\n\n"); }
  bool gone() const { return gone_; }
  Response done() {
    if (w_) {
      w_->end();
      return Response::stream_done(*w_);
    }
    head_.body = std::move(out_);
    return std::move(head_);
  }

 private:
  ordered_json event(ordered_json choices, bool usage_slot = true) {
    ordered_json c;
    c["id"] = id_;
    c["object"] = "chat.completion.chunk";
    c["created"] = created_;
    c["model"] = model_;
    c["choices"] = std::move(choices);
    if (usage_slot && include_usage_) c["usage"] = nullptr;
    return c;
  }
  static ordered_json choice(ordered_json delta, const ordered_json& finish) {
    ordered_json arr = ordered_json::array();
    arr.push_back({{"index", 0},
                   {"delta", std::move(delta)},
                   {"logprobs", nullptr},
                   {"finish_reason", finish}});
    return arr;
  }
  void send(const ordered_json& c) { raw("data: " + c.dump() + "\n\n"); }
  void raw(std::string e) {
    if (!w_) {
      out_ += e;
    } else if (!gone_ && !w_->write(std::move(e))) {
      gone_ = true;
    }
  }

  const RequestContext& ctx_;
  const std::string id_;
  const std::int64_t created_;
  const std::string model_;
  const bool include_usage_;
  bool opened_ = false, gone_ = false;
  Response head_;
  std::shared_ptr<http::StreamWriter> w_;
  std::string out_;
};

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
  const ChatObserver observe;
  const std::shared_ptr<chat::StreamCap> cap;
  const std::vector<std::string> embedding_models;

  Result<Response> handle_chat_completions(const RequestContext& ctx) const;
  Result<Response> handle_create_conversation(const RequestContext& ctx) const;
  Result<Response> handle_list_conversations(const RequestContext& ctx) const;
  Result<Response> handle_get_conversation(const RequestContext& ctx) const;
  Result<Response> handle_delete_conversation(const RequestContext& ctx) const;
  Result<Response> handle_list_models(const RequestContext&) const;
  Result<Response> handle_rag_query(const RequestContext& ctx) const;
  Result<Response> handle_rag_knowledge(const RequestContext& ctx) const;
};

Result<Response> ChatHandlers::handle_chat_completions(const RequestContext& ctx) const {
  const auto started = std::chrono::steady_clock::now();
  ATELIER_ASSIGN_OR_RETURN(auto body, http::parse_json_body(ctx.req));
  ATELIER_ASSIGN_OR_RETURN(chat::CompletionRequest req, chat::parse_completion_request(body));
  const std::string model = req.model;
  const bool stream = req.stream;
  const bool include_usage = req.include_usage;
  chat::TurnRequest r;
  r.owner = ctx.identity.id;
  r.model = model;
  for (auto& [role, text] : req.messages)
    r.messages.push_back({0, std::move(role), std::move(text), "[]", 0});
  if (req.has_conversation) {
    if (ctx.identity.anonymous())
      return Status::unauthenticated("conversations belong to a user or key: sign in");
    r.conversation_id = std::move(req.conversation_id);
  }
  r.collections = std::move(req.collections);
  // Every completion, streamed or not, local or hosted, holds one of
  // the caller's slots while it runs: this pool is not admitted by
  // predicted completion, so the cap bounds what one caller runs.
  ATELIER_ASSIGN_OR_RETURN(std::unique_ptr<chat::StreamCap::Slot> slot, cap->take(ctx.identity.id));
  const std::string id = "chatcmpl-" + random_id("").substr(0, 24);
  const std::int64_t created = unix_millis() / 1000;
  const std::string engine = svc.kind_of(model);
  SseOut sse(ctx, id, created, model, include_usage);
  double ttft_ms = 0;
  // What reached the client: its tokens are charged when per-token
  // quotas are on (a stream cut short is charged for what it carried).
  std::string delivered;
  auto charge = [&] {
    ctx.charge->settle(token_units(delivered.empty() ? 0 : chat::estimated_tokens(delivered),
                                   d.config.chat_tokens_per_unit));
  };
  if (stream && model != "local") {
    // The hosted engine's tokens pass through as they arrive.
    r.on_sources = [&sse](const std::vector<chat::Retrieved>& s) { sse.open(s); };
    r.on_delta = [&](std::string_view piece) {
      if (ttft_ms == 0) ttft_ms = ms_since(started);
      if (!sse.text(piece)) return false;
      delivered += piece;
      return true;
    };
    r.on_wait = [&sse] { sse.ping(); };
  }
  auto replied = svc.reply(r, caller_of(ctx.identity), ctx.work);
  if (!replied.is_ok()) {
    const Code c = replied.status().code();
    observe(engine, c == Code::cancelled || sse.gone() ? "cancelled" : "failed", 0, 0, 0);
    if (!sse.opened()) return replied.status();
    charge();
    if (!sse.gone()) sse.error(replied.status());  // the stream has begun: say it there
    return sse.done();
  }
  auto turn = std::move(replied).value();
  if (ctx.work.timings) {
    ctx.work.timings->add("retrieval", turn.rag.retrieval_ms);
    ctx.work.timings->add("compose", turn.rag.compose_ms);
  }
  const std::size_t prompt = turn.prompt_tokens;
  const std::size_t completion = turn.completion_tokens;
  auto timings = [&](double first_ms) {
    return ordered_json{{"retrieval_ms", json::round3(turn.rag.retrieval_ms)},
                        {"compose_ms", json::round3(turn.rag.compose_ms)},
                        {"first_token_ms", json::round3(first_ms)},
                        {"total_ms", json::round3(ms_since(started))}};
  };
  if (stream) {
    if (model == "local") {
      sse.open(turn.sources);
      for (const auto& piece : answer_pieces(turn.text)) {
        if (ttft_ms == 0) ttft_ms = ms_since(started);
        if (!sse.text(piece)) break;
        delivered += piece;
      }
    }
    charge();
    if (!sse.gone()) sse.finish("stop", timings(ttft_ms), prompt, completion);
    observe(engine,
            sse.gone()   ? "cancelled"
            : turn.found ? "answered"
                         : "nothing_found",
            ttft_ms / 1000.0, ms_since(started) / 1000.0, completion);
    return sse.done();
  }
  observe(engine, turn.found ? "answered" : "nothing_found", ms_since(started) / 1000.0,
          ms_since(started) / 1000.0, completion);
  delivered = turn.text;
  charge();
  ordered_json j;
  j["id"] = id;
  j["object"] = "chat.completion";
  j["created"] = created;
  j["model"] = model;
  j["choices"] = ordered_json::array(
      {ordered_json{{"index", 0},
                    {"message", {{"role", "assistant"}, {"content", turn.text}}},
                    {"logprobs", nullptr},
                    {"finish_reason", "stop"}}});
  j["usage"] = {{"prompt_tokens", prompt},
                {"completion_tokens", completion},
                {"total_tokens", prompt + completion}};
  j["sources"] = sources_json(turn.sources);
  j["timings"] = timings(ms_since(started));
  return Response::json_ordered(200, j);
}

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
  return Response::json_ordered(201, conversation_json(c));
}

Result<Response> ChatHandlers::handle_list_conversations(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto list, svc.conversations().in(ctx.work).list(ctx.identity.id, 100));
  ordered_json arr = ordered_json::array();
  for (const auto& c : list) arr.push_back(conversation_json(c));
  return Response::json_ordered(200, {{"conversations", arr}});
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
  j["next_cursor"] = http::next_cursor(ctx, *d.cursors, list, next);
  j["messages"] = messages_json(messages);
  return Response::json_ordered(200, j);
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
  const auto h = std::make_shared<const ChatHandlers>(
      ChatHandlers{d, svc, observe, cap, std::move(embedding_models)});
  router.add({
      .method = Method::post,
      .path = "/v1/chat/completions",
      .operation_id = "chat_completions",
      .summary = "OpenAI-compatible chat completion (model 'local': the grounded composer over "
                 "the style knowledge base); the answer cites its sources with [n] markers and "
                 "lists them in 'sources' (on the first chunk when streamed as server-sent "
                 "events)",
      .tag = "chat",
      .access = Access::caller,
      .cost = 1,
      // Mostly waiting (on a hosted engine, on a client reading a stream):
      // the wide pool, so long streams do not hold the CPU pool.
      .exec = Exec::outbound_pool,
      .request_schema = {{"type", "object"},
                         {"required", {"messages"}},
                         {"properties",
                          {{"model", {{"type", "string"}}},
                           {"messages", {{"type", "array"}, {"minItems", 1}}},
                           {"stream", {{"type", "boolean"}}},
                           {"collections", {{"type", "array"}, {"items", {{"type", "string"}}}}}}}},
      .request_example = {{"model", "local"},
                          {"messages", {{{"role", "user"}, {"content", "What is chintz?"}}}}},
      .response_example = nlohmann::json::parse(R"({
        "id": "chatcmpl-5f1c2e9a0b7d4c3e8a6f2d1b", "object": "chat.completion",
        "created": 1795690000, "model": "local",
        "choices": [{"index": 0, "finish_reason": "stop", "logprobs": null,
                     "message": {"role": "assistant",
                                 "content": "chintz: a brightly printed and glazed cotton fabric [1]"}}],
        "usage": {"prompt_tokens": 4, "completion_tokens": 14, "total_tokens": 18},
        "sources": [{"n": 1, "id": "wn30-n-03011521", "collection": "style-glossary",
                     "title": "chintz", "snippet": "chintz: a brightly printed and glazed cotton fabric [a kind of fabric]",
                     "score": 0.033, "bm25_rank": 1, "vector_rank": 1}],
        "timings": {"retrieval_ms": 2.1, "compose_ms": 0.02, "first_token_ms": 2.4,
                    "total_ms": 2.4}})"),
      .errors = {404, 503},
      .openai_errors = true,
      .handler = http::bind_handler(h, &ChatHandlers::handle_chat_completions),
  });
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
        "title": "fabrics for winter", "created_at": 1795690000000, "updated_at": 1795690000000,
        "messages": 0})"),
      .success_status = 201,
      .handler = http::bind_handler(h, &ChatHandlers::handle_create_conversation),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/conversations",
      .operation_id = "list_conversations",
      .summary = "The caller's conversations, most recently updated first",
      .tag = "chat",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_example =
          nlohmann::json::parse(R"({"conversations": [{"id": "cv_4f0a9c2b7e1d3a5c6b8e9f01",
        "title": "fabrics for winter", "created_at": 1795690000000, "updated_at": 1795690004000,
        "messages": 2}]})"),
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
        "title": "fabrics for winter", "created_at": 1795690000000, "updated_at": 1795690004000,
        "messages": [{"seq": 1, "role": "user", "content": "What is tweed?", "sources": [],
                      "created_at": 1795690004000},
                     {"seq": 2, "role": "assistant",
                      "content": "tweed: thick woolen fabric used for clothing; originated in Scotland [1]",
                      "sources": [{"n": 1, "id": "wn30-n-04516116", "collection": "style-glossary"}],
                      "created_at": 1795690004000}], "next_cursor": null})"),
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
      .handler = http::bind_handler(h, &ChatHandlers::handle_rag_knowledge),
  });
}

}  // namespace atelier::api
