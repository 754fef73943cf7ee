#include "chat/request.h"

#include <sstream>

#include "core/ids.h"
#include "core/json.h"

namespace atelier::chat {
namespace {

using Json = nlohmann::json;

// A member that must be a string when present.
Result<bool> optional_string(const Json& o, const char* name, std::size_t max, std::string* out) {
  const auto it = o.find(name);
  if (it == o.end() || it->is_null()) return false;
  if (!it->is_string())
    return Status::invalid_argument(std::string("'") + name + "' must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (s.size() > max)
    return Status::invalid_argument(std::string("'") + name + "' is longer than " +
                                    std::to_string(max) + " bytes");
  *out = s;
  return true;
}

Result<bool> optional_bool(const Json& o, const char* name, bool* out) {
  const auto it = o.find(name);
  if (it == o.end() || it->is_null()) return false;
  if (!it->is_boolean())
    return Status::invalid_argument(std::string("'") + name + "' must be true or false");
  *out = it->get<bool>();
  return true;
}

// A number in [lo, hi] when present; 400 naming it otherwise.
Result<std::optional<double>> optional_number(const Json& o, const char* name, double lo,
                                              double hi) {
  const auto it = o.find(name);
  if (it == o.end() || it->is_null()) return std::optional<double>();
  if (!it->is_number() || it->get<double>() < lo || it->get<double>() > hi) {
    std::ostringstream range;
    range << "'" << name << "' is a number from " << lo << " to " << hi;
    return Status::invalid_argument(range.str());
  }
  return std::optional<double>(it->get<double>());
}

// max_completion_tokens (or the older max_tokens), temperature, top_p, stop
// and seed, checked as OpenAI checks them.
Result<Sampling> parse_sampling(const Json& body) {
  Sampling s;
  for (const char* name : {"max_tokens", "max_completion_tokens"}) {
    const auto it = body.find(name);
    if (it == body.end() || it->is_null()) continue;
    if (!it->is_number_integer() || it->get<std::int64_t>() < 1 ||
        it->get<std::int64_t>() > 1'000'000)
      return Status::invalid_argument(std::string("'") + name +
                                      "' is an integer from 1 to 1000000");
    s.max_tokens = static_cast<int>(it->get<std::int64_t>());  // the later name wins
  }
  ATELIER_ASSIGN_OR_RETURN(s.temperature, optional_number(body, "temperature", 0, 2));
  ATELIER_ASSIGN_OR_RETURN(s.top_p, optional_number(body, "top_p", 0, 1));
  if (const auto st = body.find("stop"); st != body.end() && !st->is_null()) {
    const auto bad = [] {
      return Status::invalid_argument("'stop' is a string or a list of up to 4 strings");
    };
    if (st->is_string()) {
      s.stop.push_back(st->get<std::string>());
    } else if (st->is_array() && st->size() <= 4) {
      for (const auto& x : *st) {
        if (!x.is_string()) return bad();
        s.stop.push_back(x.get<std::string>());
      }
    } else {
      return bad();
    }
    for (const auto& x : s.stop)
      if (x.size() > 256)
        return Status::invalid_argument("a 'stop' sequence has at most 256 bytes");
  }
  if (const auto seed = body.find("seed"); seed != body.end() && !seed->is_null()) {
    if (!seed->is_number_integer()) return Status::invalid_argument("'seed' is an integer");
    s.seed = seed->get<std::int64_t>();
  }
  return s;
}

Result<std::vector<std::pair<std::string, std::string>>> parse_messages(const Json& body) {
  const auto it = body.find("messages");
  if (it == body.end() || !it->is_array() || it->empty() || it->size() > kMaxRequestMessages)
    return Status::invalid_argument("'messages' must hold 1 to " +
                                    std::to_string(kMaxRequestMessages) + " messages");
  std::vector<std::pair<std::string, std::string>> out;
  for (std::size_t i = 0; i < it->size(); ++i) {
    const auto& m = (*it)[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return Status::invalid_argument(where + " must be an object");
    const auto role_it = m.find("role");
    if (role_it == m.end() || !role_it->is_string())
      return Status::invalid_argument(where + " needs a 'role'");
    std::string role = role_it->get<std::string>();
    if (role != "system" && role != "developer" && role != "user" && role != "assistant" &&
        role != "tool")
      return Status::invalid_argument(where + ".role must be system, user, assistant or tool");
    if (role == "developer") role = "system";
    std::string text;
    const auto c = m.find("content");
    if (c == m.end() || c->is_null()) {
      // An assistant turn that only called tools.
    } else if (c->is_string()) {
      text = c->get<std::string>();
    } else if (c->is_array()) {
      for (const auto& part : *c) {
        const bool text_part = part.is_object() && part.contains("type") &&
                               part["type"].is_string() && part["type"] == "text" &&
                               part.contains("text") && part["text"].is_string();
        if (!text_part)
          return Status::invalid_argument(where + ".content parts must be {type: text, text}");
        text += (text.empty() ? "" : "\n") + part["text"].get<std::string>();
      }
    } else {
      return Status::invalid_argument(where + ".content must be text or a list of text parts");
    }
    out.emplace_back(std::move(role), std::move(text));
  }
  return out;
}

}  // namespace

Result<std::vector<std::string>> parse_collections(const nlohmann::json& body) {
  std::vector<std::string> out;
  const auto it = body.find("collections");
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_array() || it->size() > kMaxCollections)
    return Status::invalid_argument("'collections' is a list of at most " +
                                    std::to_string(kMaxCollections) + " names");
  for (const auto& c : *it) {
    if (!c.is_string()) return Status::invalid_argument("'collections' holds names");
    ATELIER_RETURN_IF_ERROR(check_id(c.get_ref<const std::string&>(), "a collection name"));
    out.push_back(c.get<std::string>());
  }
  return out;
}

Result<CompletionRequest> parse_completion_request(const nlohmann::json& body) {
  if (!body.is_object()) return Status::invalid_argument("the request body must be a JSON object");
  CompletionRequest r;
  ATELIER_RETURN_IF_ERROR(optional_string(body, "model", kMaxModelName, &r.model).status());
  if (r.model.empty()) return Status::invalid_argument("'model' must not be empty");
  ATELIER_RETURN_IF_ERROR(optional_bool(body, "stream", &r.stream).status());
  if (const auto so = body.find("stream_options"); so != body.end() && !so->is_null()) {
    if (!so->is_object()) return Status::invalid_argument("'stream_options' is an object");
    ATELIER_RETURN_IF_ERROR(optional_bool(*so, "include_usage", &r.include_usage).status());
  }
  if (const auto n = body.find("n"); n != body.end() && !n->is_null()) {
    if (!n->is_number_integer() || n->get<std::int64_t>() != 1)
      return Status::invalid_argument("'n' must be 1");
  }
  ATELIER_ASSIGN_OR_RETURN(r.messages, parse_messages(body));
  ATELIER_ASSIGN_OR_RETURN(r.has_conversation, optional_string(body, "conversation_id", kMaxIdBytes,
                                                               &r.conversation_id));
  ATELIER_ASSIGN_OR_RETURN(r.collections, parse_collections(body));
  ATELIER_ASSIGN_OR_RETURN(r.sampling, parse_sampling(body));
  return r;
}

Result<SocketFrame> parse_socket_frame(std::string_view text) {
  atelier::json::Limits limits;
  limits.max_depth = 8;
  auto parsed = atelier::json::parse(text, limits, "frame");
  if (!parsed.is_ok() || !parsed->is_object() || !parsed->contains("type") ||
      !(*parsed)["type"].is_string())
    return Status::invalid_argument("frames are JSON objects with a 'type'");
  const Json& f = *parsed;
  const std::string& type = f["type"].get_ref<const std::string&>();
  SocketFrame out;
  if (type == "ping") {
    out.type = SocketFrame::Type::ping;
  } else if (type == "cancel") {
    out.type = SocketFrame::Type::cancel;
  } else if (type == "auth") {
    out.type = SocketFrame::Type::auth;
    const auto t = f.find("token");
    if (t == f.end() || !t->is_string() || t->get_ref<const std::string&>().size() > 4096)
      return Status::unauthenticated("'token' is an API key or a bearer token");
    out.token = t->get<std::string>();
  } else if (type == "message") {
    out.type = SocketFrame::Type::message;
    const auto c = f.find("content");
    if (c == f.end() || !c->is_string() || c->get_ref<const std::string&>().empty())
      return Status::invalid_argument("'content' is the message's text");
    out.content = c->get<std::string>();
    ATELIER_RETURN_IF_ERROR(optional_string(f, "model", kMaxModelName, &out.model).status());
    ATELIER_RETURN_IF_ERROR(
        optional_string(f, "conversation_id", kMaxIdBytes, &out.conversation_id).status());
    ATELIER_ASSIGN_OR_RETURN(out.collections, parse_collections(f));
  } else {
    return Status::invalid_argument("unknown frame type '" + cut_utf8(type, 64) +
                                    "' (auth, message, cancel or ping)");
  }
  return out;
}

}  // namespace atelier::chat
