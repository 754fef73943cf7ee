#include "http/problem.h"

#include "core/ids.h"
#include "core/json.h"

namespace atelier::http {

int http_status(Code c) noexcept {
  switch (c) {
    case Code::ok:
      return 200;
    case Code::invalid_argument:
      return 400;
    case Code::unprocessable:
      return 422;
    case Code::not_found:
      return 404;
    case Code::already_exists:
      return 409;
    case Code::unauthenticated:
      return 401;
    case Code::permission_denied:
      return 403;
    case Code::payload_too_large:
      return 413;
    case Code::unsupported_media:
      return 415;
    case Code::resource_exhausted:
      return 429;
    case Code::unavailable:
      return 503;
    case Code::deadline_exceeded:
      return 504;
    case Code::cancelled:
      return 499;
    case Code::internal:
      return 500;
  }
  return 500;
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Content";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 499:
      return "Client Closed Request";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

namespace {
std::string slug(int status) {
  std::string s(reason_phrase(status));
  for (auto& c : s)
    c = c == ' ' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The field a field error names: our messages begin with it quoted
// ("'temperature' is a number from 0 to 2"); "" when there is none.
std::string field_of(const std::string& detail) {
  if (detail.size() < 3 || detail[0] != '\'') return {};
  const auto end = detail.find('\'', 1);
  if (end == std::string::npos || end == 1 || end > 64) return {};
  return detail.substr(1, end - 1);
}

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

// The problem's cause, finer than its status where a client acts on the
// difference (README, "Conventions"): one type per cause, not per status.
std::string problem_type(int status, const std::string& detail, const nlohmann::json& extra) {
  if (status == 400 && !field_of(detail).empty()) return "invalid-params";
  if (status == 400 && detail == "malformed cursor") return "malformed-cursor";
  if (status == 400 && starts_with(detail, "Idempotency-Key")) return "invalid-idempotency-key";
  if (status == 409 && detail.find("Idempotency-Key") != std::string::npos)
    return "idempotency-key-in-use";
  if (status == 422 && detail.find("Idempotency-Key") != std::string::npos)
    return "idempotency-key-reused";
  if (status == 404 && starts_with(detail, "no route for ")) return "no-route";
  if (status == 429 && extra.is_object() && extra.contains("limit"))
    return extra["limit"] == "daily_quota" ? "quota-exceeded" : "rate-limited";
  return slug(status);
}

}  // namespace

Response problem(int status, const std::string& detail, const std::string& request_id,
                 const nlohmann::json& extra) {
  nlohmann::json body = {
      {"type", "urn:atelier:problem:" + problem_type(status, detail, extra)},
      {"title", std::string(reason_phrase(status))},
      {"status", status},
      {"detail", cut_utf8(detail, 2048)},  // never echoes unbounded input
      {"request_id", request_id},
  };
  for (auto& [k, v] : extra.items()) body[k] = v;
  // RFC 9457's field errors: which parameter, and why.
  if (const std::string field = field_of(detail); status == 400 && !field.empty())
    body["invalid-params"] = {{{"name", field}, {"reason", body["detail"]}}};
  Response r = Response::json(status, body);
  r.content_type = "application/problem+json";
  if (status == 401) r.set_header("WWW-Authenticate", "Bearer");
  return r;
}

Response problem(const Status& st, const std::string& request_id, const nlohmann::json& extra) {
  return problem(http_status(st.code()), st.message(), request_id, extra);
}

namespace {

// OpenAI's `code` where its clients switch on one (model_not_found,
// invalid_api_key, rate_limit_exceeded, insufficient_quota,
// context_length_exceeded); else the problem's type.
std::string openai_code(int status, const nlohmann::json& body) {
  const std::string detail = body.value("detail", std::string());
  if (status == 401) return "invalid_api_key";
  if (status == 429)
    return body.value("limit", std::string()) == "daily_quota" ? "insufficient_quota"
                                                               : "rate_limit_exceeded";
  if (status == 404 &&
      (detail.rfind("the model '", 0) == 0 || detail.rfind("no embedding model '", 0) == 0))
    return "model_not_found";
  if (status == 413) return "context_length_exceeded";
  return body.value("type", std::string());
}

// The parameter a field error names: our messages begin with it quoted
// ("'temperature' is a number from 0 to 2").
nlohmann::json openai_param(const std::string& detail) {
  const std::string field = field_of(detail);
  return field.empty() ? nlohmann::json(nullptr) : nlohmann::json(field);
}

}  // namespace

void add_openai_error(Response& r) {
  if (r.status < 400 || r.content_type != "application/problem+json") return;
  auto body = nlohmann::json::parse(r.body, nullptr, false);
  if (!body.is_object()) return;
  const char* type = r.status == 429   ? "rate_limit_exceeded"
                     : r.status == 401 ? "authentication_error"
                     : r.status < 500  ? "invalid_request_error"
                                       : "server_error";
  const std::string detail = body.value("detail", std::string());
  body["error"] = {{"message", detail},
                   {"type", type},
                   {"param", openai_param(detail)},
                   {"code", openai_code(r.status, body)}};
  r.body = body.dump();
}

Result<nlohmann::json> parse_json_body(const Request& req, int max_depth) {
  auto ct = req.header("Content-Type");
  auto semi = ct.find(';');
  auto media = ct.substr(0, semi);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (!iequals(media, "application/json") &&
      !(media.size() > 5 && media.substr(media.size() - 5) == "+json")) {
    return Status::unsupported_media("expected Content-Type: application/json, got '" +
                                     std::string(ct) + "'");
  }
  if (req.body.empty())
    return Status::invalid_argument("request body is empty; expected a JSON document");
  json::Limits limits;
  limits.max_depth = max_depth;
  return json::parse(req.body, limits, "request body");
}

}  // namespace atelier::http
