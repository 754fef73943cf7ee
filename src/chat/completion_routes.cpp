// POST /v1/chat/completions: the request read into a turn, the turn run by
// the chat service, the answer written whole or as OpenAI's stream.
#include "chat/completion_routes.h"

#include <chrono>

#include "chat/request.h"
#include "chat/routes.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/json.h"
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

// The completion's request as a turn of the chat service.
Result<chat::TurnRequest> turn_request(chat::CompletionRequest req, const RequestContext& ctx) {
  chat::TurnRequest r;
  r.owner = ctx.identity.id;
  r.model = req.model;
  for (auto& [role, text] : req.messages)
    r.messages.push_back({0, std::move(role), std::move(text), "[]", 0});
  if (req.has_conversation) {
    if (ctx.identity.anonymous())
      return Status::unauthenticated("conversations belong to a user or key: sign in");
    r.conversation_id = std::move(req.conversation_id);
  }
  r.collections = std::move(req.collections);
  r.sampling = std::move(req.sampling);
  return r;
}

struct CompletionsHandler {
  ApiDeps& d;
  chat::ChatService& svc;
  const ChatObserver observe;
  const std::shared_ptr<chat::StreamCap> cap;

  Result<Response> handle_chat_completions(const RequestContext& ctx) const;
};

// One completion while it runs: its stream (when one was asked for), what
// reached the client and when the first of it did.
class CompletionRun {
 public:
  CompletionRun(const CompletionsHandler& h, const RequestContext& ctx,
                const chat::CompletionRequest& req, std::chrono::steady_clock::time_point started)
      : h_(h),
        ctx_(ctx),
        started_(started),
        model_(req.model),
        stream_(req.stream),
        engine_(h.svc.kind_of(req.model)),
        id_("chatcmpl-" + random_id("").substr(0, 24)),
        created_(unix_millis() / 1000),
        sse_(ctx, id_, created_, model_, req.include_usage) {}

  bool streaming() const { return stream_; }

  // A hosted engine's tokens pass through to the stream as they arrive.
  void pass_through(chat::TurnRequest& r) {
    if (!stream_ || model_ == "local") return;
    r.on_sources = [this](const std::vector<chat::Retrieved>& s) { sse_.open(s); };
    r.on_delta = [this](std::string_view piece) { return deliver(piece); };
    r.on_wait = [this] { sse_.ping(); };
  }

  Result<Response> failed(const Status& st) {
    const bool cancelled = st.code() == Code::cancelled || sse_.gone();
    h_.observe(engine_, cancelled ? "cancelled" : "failed", 0, 0, 0);
    if (!sse_.opened()) return st;
    charge();
    if (!sse_.gone()) sse_.error(st);  // the stream has begun: say it there
    return sse_.done();
  }

  Response streamed(const chat::Turn& turn) {
    if (model_ == "local") {
      sse_.open(turn.sources);
      for (const auto& piece : answer_pieces(turn.text))
        if (!deliver(piece)) break;
    }
    charge();
    if (!sse_.gone())
      sse_.finish(turn.finish_reason, timings(turn, ttft_ms_), turn.prompt_tokens,
                  turn.completion_tokens);
    h_.observe(engine_,
               sse_.gone()  ? "cancelled"
               : turn.found ? "answered"
                            : "nothing_found",
               ttft_ms_ / 1000.0, ms_since(started_) / 1000.0, turn.completion_tokens);
    return sse_.done();
  }

  Response whole(const chat::Turn& turn) {
    const double seconds = ms_since(started_) / 1000.0;
    h_.observe(engine_, turn.found ? "answered" : "nothing_found", seconds, seconds,
               turn.completion_tokens);
    delivered_ = turn.text;
    charge();
    ordered_json j;
    j["id"] = id_;
    j["object"] = "chat.completion";
    j["created"] = created_;
    j["model"] = model_;
    j["choices"] = ordered_json::array(
        {ordered_json{{"index", 0},
                      {"message", {{"role", "assistant"}, {"content", turn.text}}},
                      {"logprobs", nullptr},
                      {"finish_reason", turn.finish_reason}}});
    j["usage"] = {{"prompt_tokens", turn.prompt_tokens},
                  {"completion_tokens", turn.completion_tokens},
                  {"total_tokens", turn.prompt_tokens + turn.completion_tokens}};
    j["sources"] = sources_json(turn.sources);
    j["timings"] = timings(turn, ms_since(started_));
    return Response::json_ordered(200, j);
  }

 private:
  // False once the client has gone.
  bool deliver(std::string_view piece) {
    if (ttft_ms_ == 0) ttft_ms_ = ms_since(started_);
    if (!sse_.text(piece)) return false;
    delivered_ += piece;
    return true;
  }
  // What reached the client: its tokens are charged when per-token quotas
  // are on (a stream cut short is charged for what it carried).
  void charge() {
    const std::size_t tokens = delivered_.empty() ? 0 : chat::estimated_tokens(delivered_);
    ctx_.charge->settle(token_units(tokens, h_.d.config.chat_tokens_per_unit));
  }
  ordered_json timings(const chat::Turn& turn, double first_ms) const {
    return ordered_json{{"retrieval_ms", json::round3(turn.rag.retrieval_ms)},
                        {"compose_ms", json::round3(turn.rag.compose_ms)},
                        {"first_token_ms", json::round3(first_ms)},
                        {"total_ms", json::round3(ms_since(started_))}};
  }

  const CompletionsHandler& h_;
  const RequestContext& ctx_;
  const std::chrono::steady_clock::time_point started_;  // when the request began to be read
  const std::string model_;
  const bool stream_;
  const std::string engine_;
  const std::string id_;
  const std::int64_t created_;
  SseOut sse_;
  double ttft_ms_ = 0;
  std::string delivered_;
};

Result<Response> CompletionsHandler::handle_chat_completions(const RequestContext& ctx) const {
  const auto started = std::chrono::steady_clock::now();
  ATELIER_ASSIGN_OR_RETURN(auto body, http::parse_json_body(ctx.req));
  ATELIER_ASSIGN_OR_RETURN(chat::CompletionRequest req, chat::parse_completion_request(body));
  CompletionRun run(*this, ctx, req, started);
  ATELIER_ASSIGN_OR_RETURN(chat::TurnRequest r, turn_request(std::move(req), ctx));
  // Every completion, streamed or not, local or hosted, holds one of the
  // caller's slots while it runs: this pool is not admitted by predicted
  // completion, so the cap bounds what one caller runs.
  ATELIER_ASSIGN_OR_RETURN(std::unique_ptr<chat::StreamCap::Slot> slot, cap->take(ctx.identity.id));
  run.pass_through(r);
  auto replied = svc.reply(r, caller_of(ctx.identity), ctx.work);
  if (!replied.is_ok()) return run.failed(replied.status());
  const chat::Turn turn = std::move(replied).value();
  if (ctx.work.timings) {
    ctx.work.timings->add("retrieval", turn.rag.retrieval_ms);
    ctx.work.timings->add("compose", turn.rag.compose_ms);
  }
  return run.streaming() ? run.streamed(turn) : run.whole(turn);
}

}  // namespace

void add_chat_completions_route(http::Router& router, ApiDeps& d, chat::ChatService& svc,
                                ChatObserver observe, std::shared_ptr<chat::StreamCap> cap) {
  const auto h = std::make_shared<const CompletionsHandler>(
      CompletionsHandler{d, svc, std::move(observe), std::move(cap)});
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
      .request_schema =
          {{"type", "object"},
           {"required", {"messages"}},
           {"properties",
            {{"model", {{"type", "string"}}},
             {"messages", {{"type", "array"}, {"minItems", 1}}},
             {"stream", {{"type", "boolean"}}},
             {"collections", {{"type", "array"}, {"items", {{"type", "string"}}}}},
             {"max_completion_tokens", {{"type", "integer"}, {"minimum", 1}}},
             {"max_tokens", {{"type", "integer"}, {"minimum", 1}}},
             {"temperature", {{"type", "number"}, {"minimum", 0}, {"maximum", 2}}},
             {"top_p", {{"type", "number"}, {"minimum", 0}, {"maximum", 1}}},
             {"stop",
              {{"oneOf",
                {{{"type", "string"}},
                 {{"type", "array"}, {"maxItems", 4}, {"items", {{"type", "string"}}}}}}}},
             {"seed", {{"type", "integer"}}},
             {"n", {{"type", "integer"}, {"const", 1}}}}}},
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
      // A real stream (with stream_options.include_usage): sources on the
      // first chunk, timings on the one that finishes, usage last.
      .stream_example = nlohmann::json::parse(
          R"([{"id": "chatcmpl-5c5a13ef8c20f517f063a79e", "object": "chat.completion.chunk", "created": 1796595858, "model": "local", "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "logprobs": null, "finish_reason": null}], "usage": null, "sources": [{"n": 1, "id": "wn30-n-03019938", "collection": "style-glossary", "title": "chintz", "snippet": "chintz: a brightly printed and glazed cotton fabric [a kind of fabric]", "score": 0.183, "bm25_rank": 1, "vector_rank": 1}]}, {"id": "chatcmpl-5c5a13ef8c20f517f063a79e", "object": "chat.completion.chunk", "created": 1796595858, "model": "local", "choices": [{"index": 0, "delta": {"content": "chintz: a brightly printed "}, "logprobs": null, "finish_reason": null}], "usage": null}, {"id": "chatcmpl-5c5a13ef8c20f517f063a79e", "object": "chat.completion.chunk", "created": 1796595858, "model": "local", "choices": [{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"}], "usage": null, "timings": {"retrieval_ms": 1.208, "compose_ms": 0.015, "first_token_ms": 1.391, "total_ms": 1.41}}, {"id": "chatcmpl-5c5a13ef8c20f517f063a79e", "object": "chat.completion.chunk", "created": 1796595858, "model": "local", "choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 14, "total_tokens": 18}}])"),
      .stream_optional = {"sources", "timings", "usage", "role", "content"},
      .errors = {404, 503},
      .openai_errors = true,
      .handler = http::bind_handler(h, &CompletionsHandler::handle_chat_completions),
  });
}

}  // namespace atelier::api
