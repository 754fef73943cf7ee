// multipart/form-data bodies (RFC 7578), parsed with RESTinio's helpers but
// returned in atelier's own types. Parts are views into the request body.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "http/http.h"

namespace atelier::http {

struct FormPart {
  std::string name;
  std::string filename;      // "" for plain fields
  std::string content_type;  // "" when the part has none
  std::string_view body;
};

bool is_multipart(const Request& req);
// invalid_argument for a missing boundary or a malformed body.
Result<std::vector<FormPart>> parse_multipart(const Request& req);

}  // namespace atelier::http
