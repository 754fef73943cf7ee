#include "http/problem.h"

namespace atelier::http {

int http_status(Code c) noexcept {
  switch (c) {
    case Code::ok: return 200;
    case Code::invalid_argument: return 400;
    case Code::not_found: return 404;
    case Code::already_exists: return 409;
    case Code::unauthenticated: return 401;
    case Code::permission_denied: return 403;
    case Code::payload_too_large: return 413;
    case Code::unsupported_media: return 415;
    case Code::resource_exhausted: return 429;
    case Code::unavailable: return 503;
    case Code::deadline_exceeded: return 504;
    case Code::cancelled: return 499;
    case Code::internal: return 500;
  }
  return 500;
}

std::string_view reason_phrase(int status) noexcept {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 499: return "Client Closed Request";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    default: return "Unknown";
  }
}

namespace {
std::string slug(int status) {
  std::string s(reason_phrase(status));
  for (auto& c : s) c = c == ' ' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

Response problem(int status, const std::string& detail, const std::string& request_id,
                 const nlohmann::json& extra) {
  nlohmann::json body = {
      {"type", "urn:atelier:problem:" + slug(status)},
      {"title", std::string(reason_phrase(status))},
      {"status", status},
      {"detail", detail},
      {"request_id", request_id},
  };
  for (auto& [k, v] : extra.items()) body[k] = v;
  Response r = Response::json(status, body);
  r.content_type = "application/problem+json";
  if (status == 401) r.set_header("WWW-Authenticate", "Bearer");
  return r;
}

Response problem(const Status& st, const std::string& request_id, const nlohmann::json& extra) {
  return problem(http_status(st.code()), st.message(), request_id, extra);
}

namespace {
// Rejects nesting deeper than max_depth with one linear scan, so the
// recursive parser never sees a hostile document.
bool nesting_within(std::string_view s, int max_depth) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : s) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return false;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return true;
}
}  // namespace

Result<nlohmann::json> parse_json_body(const Request& req, int max_depth) {
  auto ct = req.header("Content-Type");
  auto semi = ct.find(';');
  auto media = ct.substr(0, semi);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (!iequals(media, "application/json") && !(media.size() > 5 && media.substr(media.size() - 5) == "+json")) {
    return Status::unsupported_media("expected Content-Type: application/json, got '" +
                                     std::string(ct) + "'");
  }
  if (req.body.empty()) return Status::invalid_argument("request body is empty; expected a JSON document");
  if (!nesting_within(req.body, max_depth)) {
    return Status::invalid_argument("JSON nested deeper than " + std::to_string(max_depth) + " levels");
  }
  auto j = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::invalid_argument("request body is not valid JSON");
  return j;
}

}  // namespace atelier::http
