// What chat clients send, parsed and checked before anything runs: the body
// of POST /v1/chat/completions (OpenAI's shape) and the frames of the chat
// WebSocket. Any JSON value is answered with a request or with
// invalid_argument naming the member at fault; nothing here throws, so a
// wrong type is a 400, never a 500 (issue 23). Both are fuzzed
// (fuzz/chat_fuzz.cpp).
//
// Thread safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "chat/sampling.h"
#include "core/status.h"

namespace atelier::chat {

// Bounds on what one request may carry.
inline constexpr std::size_t kMaxRequestMessages = 200;
inline constexpr std::size_t kMaxModelName = 200;
inline constexpr std::size_t kMaxCollections = 16;

struct CompletionRequest {
  std::string model = "local";
  bool stream = false;
  bool include_usage = false;
  // (role, text); OpenAI's "developer" role is read as "system".
  std::vector<std::pair<std::string, std::string>> messages;
  std::string conversation_id;  // "" : none
  bool has_conversation = false;
  std::vector<std::string> collections;
  Sampling sampling;
};
Result<CompletionRequest> parse_completion_request(const nlohmann::json& body);

// The optional 'collections' member of a request or frame: names to search.
Result<std::vector<std::string>> parse_collections(const nlohmann::json& body);

struct SocketFrame {
  enum class Type { auth, message, cancel, ping };
  Type type = Type::ping;
  std::string token;  // auth
  // message
  std::string content;
  std::string model;  // "" : the socket's default
  std::string conversation_id;
  std::vector<std::string> collections;
};
// One text message of the socket (at most the socket's message size).
Result<SocketFrame> parse_socket_frame(std::string_view text);

}  // namespace atelier::chat
