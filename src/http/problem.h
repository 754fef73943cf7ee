// RFC 9457 problem details: the one place where a Status becomes an HTTP
// status code and an application/problem+json body.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "core/status.h"
#include "http/http.h"

namespace atelier::http {

int http_status(Code c) noexcept;
std::string_view reason_phrase(int status) noexcept;

// Body fields: type, title, status, detail, request_id, plus `extra`.
Response problem(int status, const std::string& detail, const std::string& request_id,
                 const nlohmann::json& extra = nlohmann::json::object());
Response problem(const Status& st, const std::string& request_id,
                 const nlohmann::json& extra = nlohmann::json::object());

// Adds OpenAI's `error` object to a problem response (same message), for
// OpenAI-compatible routes; other responses are left as they are.
void add_openai_error(Response& r);

// Reads a JSON body; answers invalid_argument / unsupported_media with a
// message a caller can act on. Nesting deeper than `max_depth` is refused
// before any recursion in the parser.
Result<nlohmann::json> parse_json_body(const Request& req, int max_depth = 64);

}  // namespace atelier::http
