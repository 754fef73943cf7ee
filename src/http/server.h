// The network side: accepts connections, reads requests, hands them to the
// Pipeline and writes its responses. Implemented on RESTinio in server.cpp
// (connections, requests, answers) and server_streaming.cpp (chunked
// responses, WebSockets), which share server_internal.h; with multipart.cpp,
// the only files that include the library.
//
// Limits: read timeout per request, a cap on open connections (connections
// beyond it are closed as soon as they are accepted), and a transport body cap
// (max_body_hard_bytes) beyond which the connection is closed unread; bodies
// between the configured limit and that cap are read and answered 413 by the
// pipeline.
//
// Malformed requests (bad syntax, unknown methods, HTTP/2 prefaces, heads
// over the limits below) get a status line and a problem body before the
// connection closes (http/wire_guard.h).
//
// Shutdown: SIGTERM or SIGINT stops accepting, flips the pipeline to draining
// (readiness 503; responses close their connections), waits for in-flight
// requests and for requests still being read (an upload under way) up to
// drain_timeout, then returns from run(). A second signal stops at once.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/status.h"
#include "http/pipeline.h"

namespace atelier::http {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  int io_threads = 1;
  int max_connections = 1024;
  std::chrono::seconds read_timeout{30};
  std::chrono::seconds handle_timeout{65};  // safety net beyond the request deadline
  std::chrono::seconds drain_timeout{20};
  std::int64_t max_body_hard_bytes = 40 << 20;
  // Request heads beyond these are answered 414 / 431 (see wire_guard.h).
  std::size_t max_url_bytes = 16 * 1024;
  std::size_t max_header_bytes = 64 * 1024;
  std::size_t max_header_count = 256;
  bool trust_forwarded_for = false;
  // WebSockets: a quiet peer is pinged this often and closed after two
  // unanswered pings; a message (or frame) longer than this closes it (1009).
  std::chrono::seconds ws_ping_interval{20};
  std::size_t ws_max_message_bytes = 1 << 20;
  // A socket that neither sent nor received a message for this long is
  // closed (1000); pings do not count.
  std::chrono::seconds ws_idle_timeout{300};
  // Output queued for a peer that does not read: past this the connection
  // is cut.
  std::size_t ws_max_queued_bytes = 4 << 20;
};

class Server {
 public:
  Server(ServerOptions opt, Pipeline& pipeline);
  ~Server();

  // Binds, calls on_listening(), serves until a signal (then drains) and
  // returns OK; returns an error when the address cannot be bound.
  Status run(const std::function<void()>& on_listening);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace atelier::http
