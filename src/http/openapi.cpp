#include "http/openapi.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "http/problem.h"

namespace atelier::http {
namespace {

nlohmann::json problem_response(int status) {
  return {
      {"description", std::string(reason_phrase(status))},
      {"content",
       {{"application/problem+json", {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}};
}

std::string lower_method(Method m) {
  std::string s(method_name(m));
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

namespace {

// The path's {params}, then the query parameters the route declares.
nlohmann::json parameters_of(const RouteSpec& r) {
  nlohmann::json params = nlohmann::json::array();
  std::string_view p = r.path;
  for (std::size_t i = p.find('{'); i != std::string_view::npos; i = p.find('{', i + 1)) {
    auto j = p.find('}', i);
    params.push_back({{"name", std::string(p.substr(i + 1, j - i - 1))},
                      {"in", "path"},
                      {"required", true},
                      {"schema", {{"type", "string"}}}});
  }
  for (const auto& q : r.query) {
    params.push_back({{"name", q.name},
                      {"in", "query"},
                      {"required", q.required},
                      {"description", q.description},
                      {"schema", q.schema}});
  }
  if (r.idempotency != Idempotency::none) {
    params.push_back(
        {{"name", "Idempotency-Key"},
         {"in", "header"},
         {"required", false},
         {"description",
          "A key of your choosing (1 to 255 characters): a retry with the same key and body "
          "gets the first answer again (Idempotent-Replayed: true) instead of making a second "
          "one; the same key with another body is 422, and 409 while the first still runs. "
          "Kept for 24 hours."},
         {"schema", {{"type", "string"}, {"minLength", 1}, {"maxLength", 255}}}});
  }
  return params;
}

nlohmann::json header_doc(const char* type, const char* description) {
  return {{"description", description}, {"schema", {{"type", type}}}};
}

// The headers an answer of this route carries.
nlohmann::json headers_of(const RouteSpec& r, int status) {
  nlohmann::json h = {
      {"X-Request-ID",
       header_doc("string", "this request's id (yours, when you sent a valid one)")}};
  if (r.access != Access::open) {
    h["RateLimit-Limit"] = header_doc("integer", "the binding limit's size");
    h["RateLimit-Remaining"] = header_doc("integer", "what is left of it");
    h["RateLimit-Reset"] = header_doc("integer", "seconds until it resets");
  }
  if (status == 201) h["Location"] = header_doc("string", "the URL of what was made");
  const bool paged = std::any_of(r.query.begin(), r.query.end(),
                                 [](const QueryParam& q) { return q.name == "cursor"; });
  if (status < 300 && paged)
    h["Link"] =
        header_doc("string", "<next page URL>; rel=\"next\" (RFC 8288), while there is one");
  if (status < 300 && r.idempotency != Idempotency::none)
    h["Idempotent-Replayed"] =
        header_doc("string",
                   "\"true\" when this is the stored answer to an earlier request "
                   "with the same Idempotency-Key");
  if (status == 429 || status == 503)
    h["Retry-After"] = header_doc("integer", "seconds to wait before trying again");
  return h;
}

// Who may call it: a key or a token, or also anyone (Access::caller).
nlohmann::json security_of(const RouteSpec& r) {
  if (r.access == Access::open) return nlohmann::json::array();
  auto s = nlohmann::json::array(
      {{{"bearerAuth", nlohmann::json::array()}}, {{"apiKeyHeader", nlohmann::json::array()}}});
  if (r.access == Access::caller) s.push_back(nlohmann::json::object());
  return s;
}

// The schema a real answer has: its example's shape. Every key an object
// shows is required; a value nested in the answer may also be null (one
// example cannot tell which may be: an item's type, a side's rank in fusion),
// while the answer's own fields are as shown, except next_cursor (null on a
// list's last page); numbers are numbers; an array's items are shaped
// like its first. The keys named in `maps` hold maps (their keys are data,
// like colour names or metadata): any key; those in `nullable` may be null;
// those in `optional` may be absent. Routes with a bare
// {"type":"object"} and an example get this, so a client generated from the
// document is typed; tests/http/openapi_contract.test.mjs checks live answers
// against it.
nlohmann::json shape_of(const nlohmann::json& e, const RouteSpec& r, bool is_map, bool root) {
  const auto& maps = r.response_maps;
  const auto& nullable = r.response_nullable;
  const auto& optional = r.response_optional;
  if (e.is_object() && is_map) return {{"type", "object"}};
  if (e.is_object()) {
    nlohmann::json props = nlohmann::json::object();
    nlohmann::json required = nlohmann::json::array();
    for (const auto& [k, v] : e.items()) {
      const bool map = std::find(maps.begin(), maps.end(), k) != maps.end();
      nlohmann::json inner = shape_of(v, r, map, false);
      const bool may_be_null = !root || k == "next_cursor" ||
                               std::find(nullable.begin(), nullable.end(), k) != nullable.end();
      if (inner.contains("type") && may_be_null) inner["type"] = {inner["type"], "null"};
      props[k] = std::move(inner);
      if (std::find(optional.begin(), optional.end(), k) == optional.end()) required.push_back(k);
    }
    nlohmann::json s = {{"type", "object"}, {"properties", props}};
    if (!required.empty()) s["required"] = required;
    return s;
  }
  if (e.is_array()) {
    nlohmann::json items =
        e.empty() ? nlohmann::json::object() : shape_of(e.front(), r, false, false);
    return {{"type", "array"}, {"items", items}};
  }
  if (e.is_string()) return {{"type", "string"}};
  if (e.is_boolean()) return {{"type", "boolean"}};
  if (e.is_number()) return {{"type", "number"}};
  return nlohmann::json::object();  // null in the example: any value
}

// The schema of one event or frame: shaped as an answer is, with its own
// optional keys; a frame's "type" is fixed to the one its example names.
nlohmann::json schema_of_message(const nlohmann::json& e, const RouteSpec& r,
                                 const std::vector<std::string>& optional) {
  RouteSpec shape;
  shape.response_maps = r.response_maps;
  shape.response_optional = optional;
  shape.response_nullable = optional;  // what some carry, others may carry as null
  nlohmann::json s = shape_of(e, shape, false, true);
  if (e.is_object() && e.contains("type") && e["type"].is_string())
    s["properties"]["type"] = {{"const", e["type"]}};
  return s;
}

// Every key either example has (the first's value where both do, merged
// within objects and within arrays' first items): one shape for events that
// each carry part of it.
nlohmann::json merged(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.is_object() && b.is_object()) {
    nlohmann::json out = a;
    for (const auto& [k, v] : b.items()) out[k] = out.contains(k) ? merged(out[k], v) : v;
    return out;
  }
  if (a.is_array() && b.is_array()) {
    if (a.empty()) return b;
    if (b.empty()) return a;
    nlohmann::json out = a;
    out[0] = merged(a[0], b[0]);
    return out;
  }
  return a.is_null() ? b : a;
}

// Server-sent events: the body is text; each event's JSON is described by
// x-atelier-event (OpenAPI has no schema for event streams). `stream_example`
// is a stream's events in order.
nlohmann::json event_stream_of(const RouteSpec& r) {
  nlohmann::json all = nlohmann::json::object();
  std::string text;
  for (const auto& e : r.stream_example) {
    all = merged(all, e);
    text += "data: " + e.dump() + "\n\n";
  }
  return {{"schema",
           {{"type", "string"},
            {"description",
             "Server-sent events: one `data: <JSON>` line per event (x-atelier-event), then "
             "`data: [DONE]`; a stream that fails after it began sends one `data: {\"error\": "
             "...}` event (OpenAI's error object) instead"}}},
          {"x-atelier-event", schema_of_message(all, r, r.stream_optional)},
          {"example", text + "data: [DONE]\n\n"}};
}

// A WebSocket's frames, each way: one of the frames its examples show.
nlohmann::json socket_of(const RouteSpec& r) {
  nlohmann::json out = nlohmann::json::object();
  for (const char* side : {"client", "server"}) {
    nlohmann::json one_of = nlohmann::json::array();
    for (const auto& f : r.socket_frames.value(side, nlohmann::json::array()))
      one_of.push_back(schema_of_message(f, r, r.socket_optional));
    out[side] = {{"oneOf", one_of},
                 {"examples", r.socket_frames.value(side, nlohmann::json::array())}};
  }
  out["description"] = "JSON text frames; `client` are the frames sent, `server` those received";
  return out;
}

// An image body's JSON form with a real image: a 32x32 navy PNG, base64, in
// the field the body names ("image", or "input" for image embeddings).
nlohmann::json image_body_example(const nlohmann::json& body) {
  static constexpr const char* kNavyPng =
      "iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAIAAAD8GO2jAAAALElEQVR42u3NMQEAMAgAIF0Rf/PYP8tK6AcFyOqJSy+"
      "OCQQCgUAgEAgEgi0f/skA3U+wmM0AAAAASUVORK5CYII=";
  const auto content = body.value("content", nlohmann::json::object());
  if (!content.contains("application/json")) return nullptr;
  const auto props = content["application/json"]
                         .value("schema", nlohmann::json::object())
                         .value("properties", nlohmann::json::object());
  for (const char* field : {"image", "input"})
    if (props.contains(field)) return {{field, kNavyPng}};
  return nullptr;
}

nlohmann::json schema_of_example(const RouteSpec& r) {
  return shape_of(r.response_example, r, false, true);
}

nlohmann::json success_schema(const RouteSpec& r) {
  const bool bare = r.response_schema == nlohmann::json{{"type", "object"}};
  if (bare && !r.response_example.is_null() && r.response_content_type == "application/json")
    return schema_of_example(r);
  return r.response_schema;
}

// The success answer, then every problem the pipeline or the handler may give.
nlohmann::json responses_of(const RouteSpec& r) {
  nlohmann::json responses = nlohmann::json::object();
  nlohmann::json ok = {{"description", std::string(reason_phrase(r.success_status))}};
  if (!r.response_content_type.empty()) {
    ok["content"] = {{r.response_content_type, {{"schema", success_schema(r)}}}};
    if (!r.response_example.is_null())
      ok["content"][r.response_content_type]["example"] = r.response_example;
  }
  if (!r.stream_example.is_null()) ok["content"]["text/event-stream"] = event_stream_of(r);
  ok["headers"] = headers_of(r, r.success_status);
  responses[std::to_string(r.success_status)] = ok;
  std::vector<int> errors = r.errors;
  if (r.access != Access::open) {
    errors.insert(errors.end(), {401, 429});
    if (r.access == Access::admin) errors.push_back(403);
  }
  if (!r.request_schema.is_null() || !r.request_body.is_null())
    errors.insert(errors.end(), {400, 413, 415});
  if (r.exec == Exec::worker_pool) errors.insert(errors.end(), {503, 504});
  if (r.idempotency != Idempotency::none) errors.insert(errors.end(), {409, 422});
  errors.push_back(500);
  for (int e : errors) {
    responses[std::to_string(e)] = problem_response(e);
    responses[std::to_string(e)]["headers"] = headers_of(r, e);
  }
  return responses;
}

nlohmann::json operation_of(const RouteSpec& r) {
  nlohmann::json op = {
      {"operationId", r.operation_id},
      {"summary", r.summary},
      {"tags", {r.tag}},
      {"x-atelier-cost", r.cost},
      {"x-atelier-execution", r.exec == Exec::worker_pool ? "worker_pool" : "inline"},
  };
  if (r.message_cost > 0) op["x-atelier-message-cost"] = r.message_cost;
  if (auto params = parameters_of(r); !params.empty()) op["parameters"] = std::move(params);
  if (!r.request_body.is_null()) {
    op["requestBody"] = r.request_body;
  } else if (!r.request_schema.is_null()) {
    op["requestBody"] = {{"required", true},
                         {"content", {{"application/json", {{"schema", r.request_schema}}}}}};
  }
  if (!r.request_example.is_null() && op.contains("requestBody") &&
      op["requestBody"]["content"].contains("application/json"))
    op["requestBody"]["content"]["application/json"]["example"] = r.request_example;
  if (r.request_example.is_null() && !r.request_body.is_null())
    if (auto example = image_body_example(r.request_body); !example.is_null())
      op["requestBody"]["content"]["application/json"]["example"] = std::move(example);
  op["security"] = security_of(r);
  op["responses"] = responses_of(r);
  if (!r.socket_frames.is_null()) op["x-atelier-websocket"] = socket_of(r);
  return op;
}

// What each tag's operations do, for the document's reader; a tag without a
// line here is listed with its name only.
std::string tag_description(const std::string& tag) {
  static const std::pair<const char*, const char*> kLines[] = {
      {"account", "The signed-in person: who they are, their data, its export and erasure."},
      {"admin", "Operators: users, keys and tiers across accounts (admin role)."},
      {"auth", "Registration, sign-in, tokens and API keys."},
      {"chat",
       "Chat and RAG with citations: OpenAI-compatible completions (JSON or SSE), "
       "a WebSocket, and stored conversations."},
      {"design", "Interior design: rooms, layout-preserving restyles as jobs, presets, budgets."},
      {"embeddings", "Text and image embeddings (OpenAI-compatible /v1/embeddings)."},
      {"operations", "Probes, metrics, the OpenAPI document and the service's own state."},
      {"outfits", "Outfits from the wardrobe: evaluate, recommend, fill a missing piece."},
      {"search",
       "Collections of documents or images: BM25, vector and hybrid search. Names "
       "are per owner; another owner's public collection is named by its ref "
       "(<owner>:<name>)."},
      {"text", "Text analysis: tokens, stems, entities and language."},
      {"vision", "Photos: detection, garment and furniture types, colours, OCR, captions, VQA."},
      {"wardrobe", "Wardrobe items, auto-tagged from their photos, and feedback on outfits."},
  };
  for (const auto& [name, line] : kLines)
    if (tag == name) return line;
  return "";
}

}  // namespace

nlohmann::json build_openapi(const Router& router, const std::string& version) {
  nlohmann::json paths = nlohmann::json::object();
  std::vector<std::string> tags;
  for (const auto& r : router.routes()) {
    paths[r.path][lower_method(r.method)] = operation_of(r);
    if (std::find(tags.begin(), tags.end(), r.tag) == tags.end()) tags.push_back(r.tag);
  }
  std::sort(tags.begin(), tags.end());
  nlohmann::json tag_docs = nlohmann::json::array();
  for (const auto& t : tags) {
    nlohmann::json d = {{"name", t}};
    if (auto line = tag_description(t); !line.empty()) d["description"] = line;
    tag_docs.push_back(std::move(d));
  }

  nlohmann::json problem_schema = {
      {"type", "object"},
      {"description", "RFC 9457 problem details"},
      {"required", {"type", "title", "status", "detail", "request_id"}},
      {"properties",
       {{"type", {{"type", "string"}}},
        {"title", {{"type", "string"}}},
        {"status", {{"type", "integer"}}},
        {"detail", {{"type", "string"}}},
        {"request_id", {{"type", "string"}}},
        {"limit", {{"type", "string"}, {"description", "the limit that refused a 429"}}}}}};

  return {
      {"openapi", "3.1.0"},
      {"info",
       {{"title", "atelier"},
        {"version", version},
        {"description",
         "AI for fashion and interior styling. Every error is RFC 9457 problem+json. "
         "x-atelier-cost is the quota cost in units charged on success; "
         "x-atelier-message-cost, that of each message of a socket."}}},
      // Relative: the server that served this document, wherever it is
      // reached (directly, or behind nginx or an Ingress).
      {"servers", {{{"url", "/"}, {"description", "the server that served this document"}}}},
      {"tags", tag_docs},
      {"paths", paths},
      {"components",
       {{"schemas", {{"Problem", problem_schema}}},
        {"securitySchemes",
         {{"bearerAuth",
           {{"type", "http"},
            {"scheme", "bearer"},
            {"description", "an API key (atl_...) or a JWT"}}},
          {"apiKeyHeader", {{"type", "apiKey"}, {"in", "header"}, {"name", "X-API-Key"}}}}}}},
  };
}

}  // namespace atelier::http
