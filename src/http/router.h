// Routes and their declarations. A RouteSpec carries everything the pipeline
// and the OpenAPI document need: who may call it, what it costs, whether it
// runs on the worker pool, and its schemas. The OpenAPI document is generated
// from these, so every route is documented by construction.
//
// Thread safety: add() before the server starts; match() concurrently after.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"
#include "http/http.h"
#include "identity/identity.h"
#include "quota/charge.h"

namespace atelier::http {

enum class Access {
  open,    // no identity, no limits: probes, metrics, docs
  caller,  // anyone; anonymous callers allowed when configured (tier free, by IP)
  user,    // a credential (API key or token) is required
  admin,   // admin role required
};

enum class Exec {
  inline_on_network_thread,  // cheap, non-blocking work only
  worker_pool,               // CPU-heavy or blocking work; bounded queue, 503 when full
  // Work that mostly waits on a batched model thread (vision, image
  // embeddings): its own, wider pool, so enough requests wait together for
  // the batcher to fill a batch.
  inference_pool,
  // Work that waits on the world: a hosted engine, a client reading a stream
  // (chat). Its own pool, so that such waits never hold a thread that model
  // work needs; not admitted by predicted completion (it takes little of the
  // machine), bounded instead by per-caller stream caps and the pool's queue.
  outbound_pool,
};

// A socket message's charge, or why it is refused: resource_exhausted (a
// limit; retry_after_s says when) or unavailable (limits cannot be counted).
struct MessageCharge {
  std::shared_ptr<Charge> charge;  // null when refused
  Status refused;
  std::int64_t retry_after_s = 0;
};
using MessageMeter = std::function<MessageCharge(const Identity&)>;

struct RequestContext {
  const Request& req;
  const Identity& identity;
  const WorkContext& work;
  const std::string& request_id;
  // Opens a streamed response with the pipeline's headers (request id, rate
  // limits, CORS) added to `head`; the handler then returns
  // Response::stream_done(...). Null where the transport cannot stream.
  StreamOpener stream = nullptr;
  // Upgrades the connection to a WebSocket (the pipeline's headers added to
  // the 101); null unless the request is a WebSocket handshake.
  WebSocketUpgrader upgrade = nullptr;
  // What this request is charged (never null from the pipeline): the route's
  // cost is reserved already; a handler whose work grows with its input
  // reserves more, and a stream settles what it delivered, each by one call.
  // The pipeline refunds what was reserved when the answer is an error.
  Charge* charge = nullptr;
  // Socket routes with a message_cost: meters one message (a turn) of the
  // signed-in caller as the pipeline meters a request (rate limits, then the
  // cost from the daily quota). Null on other routes.
  MessageMeter meter_message = nullptr;
};

using Handler = std::function<Result<Response>(const RequestContext&)>;

// A handler that is a named member function of a struct holding what a
// capability's routes need (one per route file, shared by its routes): it
// has a name in a stack trace, a review and a test.
template <class H>
Handler bind_handler(std::shared_ptr<const H> h,
                     Result<Response> (H::*f)(const RequestContext&) const) {
  return [h = std::move(h), f](const RequestContext& ctx) { return ((*h).*f)(ctx); };
}

// Whether a POST creates, and who answers its retries with Idempotency-Key.
enum class Idempotency {
  none,
  // The pipeline: the first request with a key runs, a retry with the same
  // key and body gets its stored answer again (Idempotent-Replayed: true),
  // the same key with another body 422, and while the first runs 409
  // (idempotency/idempotency_repository.h).
  pipeline,
  // The handler keeps its own keys (designs: a retry sees the job as it is now).
  handler,
};

struct QueryParam {
  std::string name;
  std::string description;
  nlohmann::json schema = {{"type", "string"}};
  bool required = false;
};

// Declared as a table with designated initialisers, naming only what differs
// from the defaults: router.add({.method = Method::post, .path = "/v1/x", ...,
// .handler = ...}). Every member has a default so any subset may be named.
struct RouteSpec {
  Method method = Method::get;
  std::string path{};  // template, e.g. /v1/keys/{id}
  std::string operation_id{};
  std::string summary{};
  std::string tag{};
  Access access = Access::caller;
  bool rate_limited = true;
  std::int64_t cost = 0;  // quota units charged on success
  // Socket routes: quota units each message (turn) costs, metered through
  // RequestContext::meter_message once the caller has signed in.
  std::int64_t message_cost = 0;
  Exec exec = Exec::inline_on_network_thread;
  nlohmann::json request_schema{};  // null: no body
  // A whole OpenAPI requestBody object for bodies that are not only JSON
  // (images: multipart, image/*, JSON with base64); overrides request_schema.
  nlohmann::json request_body{};
  nlohmann::json response_schema = {{"type", "object"}};
  // Examples shown in the OpenAPI document (null: none): a JSON request body
  // and the success response.
  nlohmann::json request_example{};
  nlohmann::json response_example{};
  // Keys of the response example whose values are maps (keys that are data,
  // such as colour names): typed as any key to a value like the first.
  std::vector<std::string> response_maps{};
  // Keys of the response example that may also be null (an image URL before
  // the job succeeded); nested values may be null anyway.
  std::vector<std::string> response_nullable{};
  // Keys of the response example (at any depth) that an answer may leave out:
  // parts that come only on request (analyze's `ocr` and `caption`).
  std::vector<std::string> response_optional{};
  // An answer that may also come as server-sent events (`"stream": true`):
  // a real stream's events in order, each one `data:` line of JSON (the
  // stream ends with `data: [DONE]`); the events' schema has every key they
  // show, those in `stream_optional` coming in some events only.
  nlohmann::json stream_example{};
  std::vector<std::string> stream_optional{};
  // A WebSocket's messages, {"client": [frames], "server": [frames]}: one
  // example of each frame (a JSON object whose "type" names it). Keys in
  // `socket_optional` may be absent from a frame.
  nlohmann::json socket_frames{};
  std::vector<std::string> socket_optional{};
  std::string response_content_type = "application/json";
  int success_status = 200;
  std::vector<int> errors{};  // problem statuses this route can answer besides the common ones
  std::vector<QueryParam> query{};
  // Probes are polled every few seconds by orchestrators: their access-log
  // lines go out at debug level so they do not drown the real traffic.
  bool quiet_access_log = false;
  // OpenAI-compatible routes: an error body also carries OpenAI's `error`
  // object ({message, type, param, code}), which OpenAI's clients read.
  bool openai_errors = false;
  Idempotency idempotency = Idempotency::none;
  Handler handler{};
};

struct Match {
  enum Kind { found, not_found, method_not_allowed } kind = not_found;
  const RouteSpec* route = nullptr;
  std::map<std::string, std::string> params;
  std::string allow;  // for 405: the methods the path accepts
};

class Router {
 public:
  void add(RouteSpec spec);
  Match match(Method m, std::string_view path) const;
  const std::vector<RouteSpec>& routes() const { return routes_; }

 private:
  static bool match_template(const std::vector<std::string>& tmpl, std::string_view path,
                             std::map<std::string, std::string>* params);
  std::vector<RouteSpec> routes_;
  std::vector<std::vector<std::string>> segments_;  // per route; "{x}" is a parameter
  std::unordered_map<std::string, std::vector<std::size_t>> static_;  // exact path -> routes
  std::vector<std::size_t> templated_;                                // routes with {params}
};

}  // namespace atelier::http
