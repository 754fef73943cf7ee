#include "http/server.h"

#include <restinio/all.hpp>

#include <algorithm>
#include <charconv>
#include <csignal>
#include <thread>
#include <vector>

#include "http/problem.h"
#include "http/server_internal.h"
#include "http/wire_guard.h"
#include "obs/log.h"

namespace atelier::http {

namespace {

std::string client_ip(const restinio::request_t& req, bool trust_forwarded_for) {
  if (trust_forwarded_for) {
    auto xff = req.header().opt_value_of("X-Forwarded-For");
    if (xff) {
      std::string_view v(xff->data(), xff->size());
      auto comma = v.find(',');
      v = v.substr(0, comma);
      while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
      while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
      if (!v.empty() && v.size() <= 64) return std::string(v);
    }
  }
  const auto addr = req.remote_endpoint().address();
  if (addr.is_v4()) {
    // Dotted quad by hand: inet_ntop + sprintf showed up in profiles.
    const auto b = addr.to_v4().to_bytes();
    char buf[16];
    char* p = buf;
    for (int i = 0; i < 4; ++i) {
      if (i) *p++ = '.';
      p = std::to_chars(p, buf + sizeof buf, static_cast<unsigned>(b[i])).ptr;
    }
    return std::string(buf, p);
  }
  return addr.to_string();
}

}  // namespace

class Server::Impl {
 public:
  Impl(ServerOptions opt, Pipeline& p)
      : opt_(std::move(opt)), pipeline_(p), cap_(static_cast<std::size_t>(opt_.max_connections)) {
    ws_options_.ping_every = opt_.ws_ping_interval;
    ws_options_.max_message_bytes = opt_.ws_max_message_bytes;
    ws_options_.idle = opt_.ws_idle_timeout;
    ws_options_.max_queued_bytes = opt_.ws_max_queued_bytes;
  }

  Status run(const std::function<void()>& on_listening) {
    wire_.limits.max_url_bytes = opt_.max_url_bytes;
    wire_.limits.max_header_bytes = opt_.max_header_bytes;
    wire_.limits.max_header_count = opt_.max_header_count;
    wire_.limits.max_body_bytes = static_cast<std::uint64_t>(opt_.max_body_hard_bytes);
    // Frames up to a few messages long are read, so that an oversized
    // message is answered with a 1009 close; beyond that, cut unread.
    wire_.limits.max_ws_frame_bytes = std::max<std::uint64_t>(
        4u << 20, 2 * static_cast<std::uint64_t>(opt_.ws_max_message_bytes));
    GuardedSocket::shared = &wire_;
    if (opt_.io_threads <= 1) return run_with<SingleThreadTraits>(on_listening);
    return run_with<MultiThreadTraits>(on_listening);
  }

 private:
  template <typename Traits>
  Status run_with(const std::function<void()>& on_listening) {
    asio::io_context ioc;
    ioc_ = &ioc;
    auto listener = std::make_shared<StateListener>(registry_, cap_);
    auto settings = make_settings<Traits>(listener);

    restinio::http_server_t<Traits> server{restinio::external_io_context(ioc), std::move(settings)};
    try {
      server.open_sync();
    } catch (const std::exception& e) {
      return Status::unavailable("cannot listen on " + opt_.host + ":" + std::to_string(opt_.port) +
                                 ": " + e.what());
    }

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    asio::steady_timer drain_timer(ioc);
    SteadyClock::time_point drain_deadline{};
    std::function<void()> poll_drain;
    poll_drain = [&] {
      // Requests still being read (an upload in progress when the signal
      // came) count as in flight: they are answered within the deadline.
      const int reading = wire_.reading.load();
      if ((pipeline_.in_flight() == 0 && reading == 0) || SteadyClock::now() >= drain_deadline) {
        if (pipeline_.in_flight() != 0 || reading != 0) {
          log::warn("drain deadline reached",
                    {{"in_flight", pipeline_.in_flight()}, {"reading", reading}});
        }
        // A moment for the last queued writes to reach their sockets.
        drain_timer.expires_after(std::chrono::milliseconds(100));
        drain_timer.async_wait([&](const asio::error_code&) { ioc.stop(); });
        return;
      }
      drain_timer.expires_after(std::chrono::milliseconds(20));
      drain_timer.async_wait([&](const asio::error_code& ec) {
        if (!ec) poll_drain();
      });
    };
    std::function<void(const asio::error_code&, int)> on_signal;
    on_signal = [&](const asio::error_code& ec, int signo) {
      if (ec) return;
      if (pipeline_.draining()) {
        log::warn("second signal: stopping now", {{"signal", signo}});
        ioc.stop();
        return;
      }
      log::info("draining", {{"signal", signo},
                             {"in_flight", pipeline_.in_flight()},
                             {"timeout_s", opt_.drain_timeout.count()}});
      pipeline_.begin_drain();
      // WebSocket clients are told to reconnect (to another replica).
      websockets_.close_all(1001, "server shutting down");
      try {
        server.close_sync();
      } catch (const std::exception& e) {
        log::warn("closing the listener failed", {{"error", e.what()}});
      }
      drain_deadline = SteadyClock::now() + opt_.drain_timeout;
      poll_drain();
      signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);

    on_listening();
    std::vector<std::thread> threads;
    for (int i = 1; i < opt_.io_threads; ++i) threads.emplace_back([&] { ioc.run(); });
    ioc.run();
    ioc.stop();
    for (auto& t : threads) t.join();
    websockets_.abandon_all();
    return Status::ok();
  }

  // RESTinio's settings: the address, the limits and timeouts, and the hooks
  // that count, cap and answer connections.
  template <typename Traits>
  restinio::server_settings_t<Traits> make_settings(std::shared_ptr<StateListener> listener) {
    restinio::server_settings_t<Traits> settings;
    settings.address(opt_.host)
        .port(static_cast<std::uint16_t>(opt_.port))
        .read_next_http_message_timelimit(opt_.read_timeout)
        .handle_request_timeout(opt_.handle_timeout)
        // With more than one request allowed in flight per connection, RESTinio
        // keeps reading the socket while a request is being handled, so it
        // sees a client hang up and we can cancel that client's work.
        .max_pipelined_requests(4)
        // The WireGuard enforces the head limits first and answers with a
        // status line; RESTinio's limits sit above them as a backstop.
        .incoming_http_msg_limits(
            restinio::incoming_http_msg_limits_t{}
                .max_body_size(static_cast<std::uint64_t>(opt_.max_body_hard_bytes))
                .max_url_size(2 * opt_.max_url_bytes)
                .max_field_name_size(2 * opt_.max_header_bytes)
                .max_field_value_size(2 * opt_.max_header_bytes)
                .max_field_count(2 * opt_.max_header_count))
        // Streamed answers go out a chunk at a time: without TCP_NODELAY,
        // Nagle's algorithm meets the client's delayed ACK and each small
        // write waits ~40 ms.
        .socket_options_setter(
            [](restinio::socket_options_t& o) { o.set_option(asio::ip::tcp::no_delay{true}); })
        .connection_state_listener(listener)
        .ip_blocker(std::make_shared<CapHook>(cap_))
        .request_handler(
            [this](restinio::request_handle_t req) { return on_request<Traits>(std::move(req)); });
    return settings;
  }

  // Responses are written from a posted task, never from inside this call:
  // RESTinio 0.6.16 resumes reading twice when a response to a pipelined
  // request is appended while its handler is still running, which cut a
  // pipeline of 8 requests to 3 answers and a closed connection.
  void respond(restinio::request_handle_t req, Response&& resp) {
    asio::post(*ioc_, [req = std::move(req), resp = std::move(resp)]() mutable {
      auto rb = req->create_response(restinio::http_status_line_t{
          restinio::http_status_code_t{static_cast<std::uint16_t>(resp.status)},
          std::string(reason_phrase(resp.status))});
      if (!resp.content_type.empty()) {
        rb.append_header(restinio::http_field::content_type, resp.content_type);
      }
      for (auto& hdr : resp.headers) rb.append_header(std::move(hdr.name), std::move(hdr.value));
      if (resp.close_connection) rb.connection_close();
      rb.set_body(std::move(resp.body));
      rb.done();
    });
  }

  template <typename Traits>
  restinio::request_handling_status_t on_request(restinio::request_handle_t req) {
    const auto& h = req->header();
    if (auto marker = h.opt_value_of(WireGuard::marker_header())) {
      // A request the WireGuard refused, standing in for the bytes it dropped.
      if (auto v = WireGuard::parse_marker(std::string_view(marker->data(), marker->size()))) {
        log::warn("malformed request refused", {{"status", v->status}, {"detail", v->detail}});
        Response resp =
            problem(v->status, v->detail, "wire-" + std::to_string(req->connection_id()));
        resp.close_connection = true;
        respond(std::move(req), std::move(resp));
        return restinio::request_accepted();
      }
    }
    Request r;
    r.method = parse_method(h.method().c_str());
    // Kept percent-encoded: the router decodes each segment exactly once, so
    // "%2541" stays "%41" and "%2F" cannot split a segment.
    r.path.assign(h.path().data(), h.path().size());
    r.query.assign(h.query().data(), h.query().size());
    r.headers.reserve(h.fields_count());
    h.for_each_field([&](const restinio::http_header_field_t& f) {
      r.headers.push_back({f.name(), f.value()});
    });
    r.body = req->body();
    r.client_ip = client_ip(*req, opt_.trust_forwarded_for);
    r.connection_id = req->connection_id();
    r.watch = &registry_;
    r.open_stream = [this, req](Response head) -> std::shared_ptr<StreamWriter> {
      return open_chunked_stream(*ioc_, req, std::move(head), registry_);
    };
    if (is_websocket_handshake(h)) {
      r.upgrade = [this, req](std::vector<Header> headers, WebSocketEvents events) {
        return upgrade_websocket<Traits>(*ioc_, req, headers, events, ws_options_, cap_,
                                         websockets_);
      };
    }
    // The WireGuard passes everything after a request that asks to switch
    // protocols, so one answered in HTTP ends its connection.
    const bool close_after = h.has_field("Upgrade");
    pipeline_.handle(std::move(r), [this, req, close_after](Response&& resp) {
      if (close_after) resp.close_connection = true;
      respond(req, std::move(resp));
    });
    return restinio::request_accepted();
  }

  ServerOptions opt_;
  Pipeline& pipeline_;
  asio::io_context* ioc_ = nullptr;  // set by run_with for its duration
  WireShared wire_;
  ConnectionRegistry registry_;
  ConnectionCap cap_;
  WsOptions ws_options_;
  WsRegistry websockets_;
};

Server::Server(ServerOptions opt, Pipeline& pipeline)
    : impl_(std::make_unique<Impl>(std::move(opt), pipeline)) {}
Server::~Server() = default;
Status Server::run(const std::function<void()>& on_listening) {
  return impl_->run(on_listening);
}

}  // namespace atelier::http
