// atelier's own HTTP types. Handlers and middleware see only these; the
// RESTinio adapter (restinio_server.cpp) is the one file that knows the
// library, so it can be swapped without touching a handler.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/cancel.h"

namespace atelier::http {

enum class Method { get, head, post, put, patch, del, options, other };
std::string_view method_name(Method m) noexcept;
Method parse_method(std::string_view s) noexcept;

struct Header {
  std::string name;
  std::string value;
};

bool iequals(std::string_view a, std::string_view b) noexcept;

// Tells the network layer which in-flight request may be cancelled when its
// connection closes. Implemented by the server adapter.
class ConnectionWatch {
 public:
  virtual ~ConnectionWatch() = default;
  // The token is cancelled when the connection closes before unwatch().
  virtual CancelToken watch(std::uint64_t connection_id) = 0;
  virtual void unwatch(std::uint64_t connection_id) = 0;
};

struct Response;

// A response written as it is produced (chunked transfer encoding: server-
// sent events, long answers). Writes go out in the order made; once the
// client has gone, or after end(), they are dropped and write() says so.
// Thread safety: one producer thread at a time; closed() from any thread.
class StreamWriter {
 public:
  virtual ~StreamWriter() = default;
  virtual bool write(std::string chunk) = 0;  // false: nobody is reading any more
  virtual void end() = 0;                     // idempotent
  virtual bool closed() const = 0;
  virtual std::size_t bytes_written() const = 0;
};
// Sends a response's status and headers (its body, if any, as the first
// chunk) and returns the writer for the rest.
using StreamOpener = std::function<std::shared_ptr<StreamWriter>(Response head)>;

// A WebSocket a handler accepted (RequestContext::upgrade): whole text
// messages both ways. The server answers the peer's pings, pings a quiet
// peer every keep-alive interval and closes one that stops answering, closes
// one the handler has not marked active for the idle timeout, and cuts one
// that leaves more than a bounded amount of output unread (a peer that does
// not read).
// Thread safety: every method from any thread.
class WebSocket {
 public:
  virtual ~WebSocket() = default;
  virtual bool send(std::string text) = 0;  // a text message; false once closed
  // Sends a close frame (RFC 6455 status code and reason) and stops; idempotent.
  virtual void close(int code, std::string reason) = 0;
  virtual bool closed() const = 0;
  // Closes the socket `after` from now unless keep_open() comes first (a
  // sign-in deadline, say). A later call replaces an earlier one.
  virtual void close_after(std::chrono::milliseconds after, int code, std::string reason) = 0;
  virtual void keep_open() = 0;
  // What the handler counts as use (a turn, a sign-in; not a keep-alive
  // message): the idle timeout runs from the latest.
  virtual void mark_active() = 0;
};
// What a WebSocket tells its handler, on a network thread, one call at a time;
// neither may block. After on_close both are dropped (so they may own the
// WebSocket without a cycle outliving the connection).
struct WebSocketEvents {
  std::function<void(std::string text)> on_message;  // one whole text message
  std::function<void(int code)> on_close;            // the connection ended (1006: no close frame)
};
// Answers the handshake with 101 (the given headers added) and returns the
// socket. Call it from an inline handler, then return Response::upgraded().
using WebSocketUpgrader =
    std::function<std::shared_ptr<WebSocket>(std::vector<Header> headers, WebSocketEvents events)>;

struct Request {
  Method method = Method::other;
  std::string path;   // path without query, still percent-encoded (the router decodes segments)
  std::string query;  // raw query string, no '?'
  std::vector<Header> headers;
  std::string body;
  std::string client_ip;
  std::uint64_t connection_id = 0;
  ConnectionWatch* watch = nullptr;  // may be null (tests)
  StreamOpener open_stream;          // set by the server adapter; null in tests
  // Set by the server adapter on a valid WebSocket handshake (GET, Upgrade:
  // websocket, version 13, a key); null otherwise.
  WebSocketUpgrader upgrade;

  // Filled by the router.
  std::map<std::string, std::string> path_params;

  // Case-insensitive lookup; empty view when absent.
  std::string_view header(std::string_view name) const noexcept;
  bool has_header(std::string_view name) const noexcept;
  // Percent-decoded query parameter; nullopt-like empty + found flag.
  bool query_param(std::string_view name, std::string* out) const;
  // A query parameter as a number in [lo, hi] (parse_integer / parse_number
  // below); `fallback` when absent or empty.
  Result<std::int64_t> query_int(std::string_view name, std::int64_t fallback, std::int64_t lo,
                                 std::int64_t hi) const;
  Result<double> query_number(std::string_view name, double fallback, double lo, double hi) const;
};

// The whole of `text` as a number in [lo, hi]: nothing may follow it (an
// embedded NUL, "0.9\0junk", included), no leading '+' or spaces;
// invalid_argument naming `name` and the range otherwise.
Result<std::int64_t> parse_integer(std::string_view text, std::string_view name, std::int64_t lo,
                                   std::int64_t hi);
Result<double> parse_number(std::string_view text, std::string_view name, double lo, double hi);

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<Header> headers;
  bool close_connection = false;
  // The handler streamed its answer (RequestContext::stream): this value only
  // reports its status for logs and metrics; nothing more is sent.
  bool streamed = false;
  std::size_t streamed_bytes = 0;

  static Response json(int status, const nlohmann::json& j);
  // Keys in insertion order, and cheaper to build than std::map-backed objects.
  static Response json_ordered(int status, const nlohmann::ordered_json& j);
  // An answer whose numbers go out as they are, not rounded (json and
  // json_ordered round; see round_for_answer): embedding vectors, the
  // account export.
  static Response json_exact(int status, const nlohmann::ordered_json& j);
  // 204 with no body and no Content-Type.
  static Response no_content();
  // What a handler that streamed its answer returns.
  static Response stream_done(const StreamWriter& w, int status = 200);
  // What a handler that upgraded its connection to a WebSocket returns.
  static Response upgraded();
  static Response text(int status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  void set_header(std::string name, std::string value);
  bool has_header(std::string_view name) const noexcept;
  // The first value of a header; empty when absent.
  std::string_view header(std::string_view name) const noexcept;
};

std::string url_decode(std::string_view s, bool plus_is_space);

// Every time in an answer is in Unix seconds (OpenAI's `created` is too);
// capabilities that keep milliseconds convert here, at the edge.
constexpr std::int64_t seconds_of_ms(std::int64_t ms) {
  return ms / 1000;
}
// Every fractional number in an answer is rounded here, at the edge, to six
// significant digits: what a float model or a price means, without
// 102.62211538461541. Response::json and json_ordered apply it to every
// number the server computed; what a caller stored comes back as stored
// (documents' `metadata`, feedback's `context`, the account export), and
// embedding vectors go out as computed (Response::json_exact).
double round_for_answer(double x);

}  // namespace atelier::http
