#include "core/json.h"

#include <string>
#include <utility>
#include <vector>

namespace atelier::json {
namespace {

// One pass over the bytes: nesting depth and string lengths, outside and
// inside strings. Malformed JSON is left for the parser to report.
Status scan(std::string_view s, const Limits& limits, std::string_view what) {
  int depth = 0;
  bool in_string = false, escaped = false;
  std::size_t string_start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      if (in_string && i - string_start > limits.max_string) {
        return Status::invalid_argument(std::string(what) + " has a string longer than " +
                                        std::to_string(limits.max_string) + " bytes");
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      string_start = i;
    } else if (c == '[' || c == '{') {
      if (++depth > limits.max_depth) {
        return Status::invalid_argument(std::string(what) + " is nested deeper than " +
                                        std::to_string(limits.max_depth) + " levels");
      }
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return Status::ok();
}

}  // namespace

Result<nlohmann::json> parse(std::string_view text, const Limits& limits, std::string_view what) {
  if (text.size() > limits.max_bytes) {
    return Status::payload_too_large(std::string(what) + " has " + std::to_string(text.size()) +
                                     " bytes; the limit is " + std::to_string(limits.max_bytes));
  }
  ATELIER_RETURN_IF_ERROR(scan(text, limits, what));
  try {
    return nlohmann::json::parse(text.begin(), text.end());
  } catch (const nlohmann::json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 3: ..."
    std::string msg = e.what();
    if (auto p = msg.find("] "); p != std::string::npos) msg = msg.substr(p + 2);
    return Status::invalid_argument(std::string(what) + " is not valid JSON: " + msg);
  } catch (const std::exception& e) {
    return Status::invalid_argument(std::string(what) + " is not valid JSON");
  }
}

int depth(const nlohmann::json& v) {
  int deepest = 0;
  std::vector<std::pair<const nlohmann::json*, int>> stack{{&v, 0}};
  while (!stack.empty()) {
    auto [node, d] = stack.back();
    stack.pop_back();
    if (!node->is_structured()) continue;
    deepest = std::max(deepest, d + 1);
    for (const auto& child : *node) stack.push_back({&child, d + 1});
  }
  return deepest;
}

}  // namespace atelier::json
