// The streaming side of the HTTP adapter: chunked responses written from
// producer threads (server-sent events, long answers) and WebSockets (the
// handshake, the upgrade and the sockets). Shares server_internal.h with
// server.cpp, which accepts the connections and answers plain requests.
#include <restinio/all.hpp>
#include <restinio/websocket/websocket.hpp>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "http/problem.h"
#include "http/server_internal.h"
#include "obs/log.h"

namespace atelier::http {

namespace {

// A chunked response written from a producer thread: every RESTinio call
// runs on one strand, in the order the producer made them. The client's
// going away (the connection closed) is seen through the registry's token.
class ChunkedWriter final : public StreamWriter,
                            public std::enable_shared_from_this<ChunkedWriter> {
 public:
  using Builder = restinio::response_builder_t<restinio::chunked_output_t>;

  static std::shared_ptr<ChunkedWriter> open(asio::io_context& ioc, restinio::request_handle_t req,
                                             Response head, ConnectionRegistry& registry) {
    auto w = std::shared_ptr<ChunkedWriter>(new ChunkedWriter(ioc, req, registry));
    asio::post(w->strand_, [w, req = std::move(req), head = std::move(head)]() mutable {
      w->builder_.emplace(
          req->create_response<restinio::chunked_output_t>(restinio::http_status_line_t{
              restinio::http_status_code_t{static_cast<std::uint16_t>(head.status)},
              std::string(reason_phrase(head.status))}));
      if (!head.content_type.empty())
        w->builder_->append_header(restinio::http_field::content_type, head.content_type);
      for (auto& h : head.headers)
        w->builder_->append_header(std::move(h.name), std::move(h.value));
      if (head.close_connection) w->builder_->connection_close();
      if (!head.body.empty()) w->builder_->append_chunk(std::move(head.body));
      w->builder_->flush();
    });
    return w;
  }
  ~ChunkedWriter() override { registry_.unwatch(conn_); }

  bool write(std::string chunk) override {
    if (closed()) return false;
    bytes_ += chunk.size();
    asio::post(strand_, [w = shared_from_this(), c = std::move(chunk)]() mutable {
      if (!w->builder_ || w->done_) return;
      w->builder_->append_chunk(std::move(c));
      w->builder_->flush();
    });
    return true;
  }
  void end() override {
    if (ended_.exchange(true)) return;
    asio::post(strand_, [w = shared_from_this()] {
      if (!w->builder_ || w->done_) return;
      w->done_ = true;
      w->builder_->done();
    });
  }
  bool closed() const override { return ended_.load() || gone_.cancelled(); }
  std::size_t bytes_written() const override { return bytes_.load(); }

 private:
  ChunkedWriter(asio::io_context& ioc, const restinio::request_handle_t& req,
                ConnectionRegistry& registry)
      : strand_(asio::make_strand(ioc)),
        registry_(registry),
        conn_(req->connection_id()),
        gone_(registry.watch(conn_)) {}

  asio::strand<asio::io_context::executor_type> strand_;
  ConnectionRegistry& registry_;
  const std::uint64_t conn_;
  const CancelToken gone_;
  std::optional<Builder> builder_;  // on the strand only
  bool done_ = false;               // on the strand only
  std::atomic<bool> ended_{false};
  std::atomic<std::size_t> bytes_{0};
};

}  // namespace

std::shared_ptr<StreamWriter> open_chunked_stream(asio::io_context& ioc,
                                                  restinio::request_handle_t req, Response head,
                                                  ConnectionRegistry& registry) {
  return ChunkedWriter::open(ioc, std::move(req), std::move(head), registry);
}

namespace rws = restinio::websocket::basic;

// A WebSocket over RESTinio's: whole text messages for the handler, pings
// answered and sent, a dead peer closed. RESTinio calls the message handler
// on the connection's executor; everything here then runs on this object's
// strand, so the ws handle and the events are touched by one thread at a time.
class WsConnection final : public WebSocket, public std::enable_shared_from_this<WsConnection> {
 public:
  using Options = WsOptions;  // server_internal.h

  WsConnection(asio::io_context& ioc, WebSocketEvents events, Options opt, ConnectionCap& cap)
      : strand_(asio::make_strand(ioc)),
        timer_(ioc),
        deadline_(ioc),
        events_(std::move(events)),
        opt_(opt),
        cap_(cap) {}
  ~WsConnection() override {
    if (counted_) cap_.closed();  // the upgraded connection's slot in the connection cap
  }

  // RESTinio's handler for this connection's frames.
  auto handler() {
    return [self = shared_from_this()](const rws::ws_handle_t&, const rws::message_handle_t& m) {
      asio::post(self->strand_, [self, m] { self->on_frame(*m); });
    };
  }
  // After RESTinio's upgrade (on the network thread that answered it).
  void attach(rws::ws_handle_t ws) {
    counted_ = true;
    asio::post(strand_, [self = shared_from_this(), ws = std::move(ws)]() mutable {
      if (self->closed_) return;  // closed before it was attached: drop the socket
      self->ws_ = std::move(ws);
      self->heard_ = self->active_ = SteadyClock::now();
      activate(*self->ws_);
      self->arm_ping();
    });
  }

  bool send(std::string text) override {
    if (closed_.load()) return false;
    // Counted before it is queued anywhere, so that a peer that does not
    // read cannot make the server hold unbounded output.
    const std::size_t n = text.size() + kFrameOverhead;
    if (queued_.fetch_add(n) + n > opt_.max_queued_bytes) {
      queued_.fetch_sub(n);
      asio::post(strand_, [self = shared_from_this()] { self->cut("output not read"); });
      return false;
    }
    asio::post(strand_, [self = shared_from_this(), t = std::move(text), n]() mutable {
      if (!self->write(rws::opcode_t::text_frame, std::move(t), n)) self->queued_.fetch_sub(n);
    });
    return true;
  }
  void close(int code, std::string reason) override {
    asio::post(strand_, [self = shared_from_this(), code, r = std::move(reason)] {
      self->close_now(code, r);
    });
  }
  bool closed() const override { return closed_.load(); }
  void close_after(std::chrono::milliseconds after, int code, std::string reason) override {
    asio::post(strand_, [self = shared_from_this(), after, code, r = std::move(reason)] {
      if (self->closed_) return;
      self->deadline_.expires_after(after);
      self->deadline_.async_wait(
          asio::bind_executor(self->strand_, [self, code, r](const asio::error_code& ec) {
            if (!ec) self->close_now(code, r);
          }));
    });
  }
  void keep_open() override {
    asio::post(strand_, [self = shared_from_this()] {
      asio::error_code ec;
      self->deadline_.cancel(ec);
    });
  }
  void mark_active() override {
    asio::post(strand_, [self = shared_from_this()] { self->active_ = SteadyClock::now(); });
  }
  // Only once no network thread runs (see WsRegistry::abandon_all).
  void abandon() {
    closed_ = true;
    ws_.reset();
    events_ = {};
  }

 private:
  static constexpr std::size_t kFrameOverhead = 14;  // a frame's header at most

  // Queues one frame; its bytes leave the count when written (or failed).
  // On the strand. False when there is no socket to write to.
  bool write(rws::opcode_t op, std::string payload, std::size_t counted) {
    if (!ws_) return false;
    ws_->send_message(rws::final_frame, op, std::move(payload),
                      [self = shared_from_this(), counted](const asio::error_code&) {
                        self->queued_.fetch_sub(counted);
                      });
    return true;
  }

  // A peer that does not read: no close frame could reach it.
  void cut(const char* why) {
    if (closed_) return;
    log::warn("websocket cut", {{"reason", why}, {"queued_bytes", queued_.load()}});
    if (ws_) ws_->kill();
    ws_.reset();
    finish(1008);
  }

  void on_frame(rws::message_t& m) {
    heard_ = SteadyClock::now();
    switch (m.opcode()) {
      case rws::opcode_t::text_frame:
      case rws::opcode_t::continuation_frame: {
        if (m.opcode() == rws::opcode_t::text_frame) partial_.clear();
        if (partial_.size() + m.payload().size() > opt_.max_message_bytes) {
          close_now(1009,
                    "messages are at most " + std::to_string(opt_.max_message_bytes) + " bytes");
          return;
        }
        partial_ += m.payload();
        if (m.final_flag() != rws::final_frame) return;
        std::string text = std::move(partial_);
        partial_.clear();
        if (events_.on_message && !closed_) events_.on_message(std::move(text));
        return;
      }
      case rws::opcode_t::binary_frame:
        close_now(1003, "this socket speaks JSON text messages");
        return;
      case rws::opcode_t::ping_frame: {
        const std::size_t n = m.payload().size() + kFrameOverhead;
        if (queued_.fetch_add(n) + n > opt_.max_queued_bytes) {
          queued_.fetch_sub(n);
          cut("pongs not read");
          return;
        }
        if (!write(rws::opcode_t::pong_frame, m.payload(), n)) queued_.fetch_sub(n);
        return;
      }
      case rws::opcode_t::pong_frame:
        return;
      case rws::opcode_t::connection_close_frame: {
        // RESTinio has answered the close (or the connection broke: 1006).
        const int code = m.payload().size() >= 2
                             ? static_cast<int>(rws::status_code_from_bin(m.payload()))
                             : 1005;
        ws_.reset();
        finish(code);
        return;
      }
      default:
        return;
    }
  }

  void close_now(int code, const std::string& reason) {
    if (ws_) {
      ws_->send_message(
          rws::final_frame, rws::opcode_t::connection_close_frame,
          rws::status_code_to_bin(static_cast<rws::status_code_t>(code)) + reason.substr(0, 120));
      ws_.reset();
    }
    finish(code);
  }

  // Runs once: tells the handler and drops its events (and whatever they own).
  void finish(int code) {
    if (closed_.exchange(true)) return;
    asio::error_code ec;
    timer_.cancel(ec);
    deadline_.cancel(ec);
    WebSocketEvents ev = std::move(events_);
    events_ = {};
    if (ev.on_close) ev.on_close(code);
  }

  void arm_ping() {
    timer_.expires_after(opt_.ping_every);
    timer_.async_wait(
        asio::bind_executor(strand_, [self = shared_from_this()](const asio::error_code& ec) {
          if (ec || self->closed_) return;
          const auto now = SteadyClock::now();
          if (now - self->heard_ > 2 * self->opt_.ping_every) {
            // Two pings unanswered: the peer is gone without a word.
            if (self->ws_) self->ws_->kill();
            self->ws_.reset();
            self->finish(1006);
            return;
          }
          if (now - self->active_ >= self->opt_.idle) {
            self->close_now(1000, "idle for " + std::to_string(self->opt_.idle.count()) + " s");
            return;
          }
          const std::size_t n = kFrameOverhead;
          self->queued_.fetch_add(n);
          if (!self->write(rws::opcode_t::ping_frame, "", n)) self->queued_.fetch_sub(n);
          self->arm_ping();
        }));
  }

  asio::strand<asio::io_context::executor_type> strand_;
  asio::steady_timer timer_;     // on the strand
  asio::steady_timer deadline_;  // on the strand: close_after()
  WebSocketEvents events_;       // on the strand
  const Options opt_;
  ConnectionCap& cap_;
  rws::ws_handle_t ws_;                 // on the strand; null before attach and after close
  std::string partial_;                 // a fragmented message so far; on the strand
  SteadyClock::time_point heard_{};     // on the strand: any frame from the peer
  SteadyClock::time_point active_{};    // on the strand: the handler's mark_active()
  std::atomic<std::size_t> queued_{0};  // output bytes not yet written
  std::atomic<bool> closed_{false};
  bool counted_ = false;
};

void WsRegistry::add(const std::shared_ptr<WsConnection>& c) {
  MutexLock lock(mu_);
  std::erase_if(live_, [](const auto& w) { return w.expired(); });
  live_.push_back(c);
}
void WsRegistry::close_all(int code, const std::string& reason) {
  std::vector<std::shared_ptr<WsConnection>> open;
  {
    MutexLock lock(mu_);
    for (auto& w : live_)
      if (auto c = w.lock()) open.push_back(std::move(c));
    live_.clear();
  }
  for (auto& c : open) c->close(code, reason);
}
void WsRegistry::abandon_all() {
  MutexLock lock(mu_);
  for (auto& w : live_)
    if (auto c = w.lock()) c->abandon();
  live_.clear();
}

namespace {

// Sec-WebSocket-Accept for a handshake's key (RFC 6455 section 4.2.2).
std::string websocket_accept(std::string_view key) {
  namespace sha1 = restinio::utils::sha1;
  const std::string s = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  return restinio::utils::base64::encode(sha1::to_string(sha1::make_digest(s)));
}

}  // namespace

bool is_websocket_handshake(const restinio::http_request_header_t& h) {
  auto has_token = [](std::string_view v, std::string_view token) {
    while (!v.empty()) {
      auto comma = v.find(',');
      std::string_view t = v.substr(0, comma);
      while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
      while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
      if (iequals(t, token)) return true;
      if (comma == std::string_view::npos) break;
      v.remove_prefix(comma + 1);
    }
    return false;
  };
  auto field = [&h](std::string_view name) -> std::string_view {
    auto v = h.opt_value_of(name);
    return v ? std::string_view(v->data(), v->size()) : std::string_view();
  };
  return h.method() == restinio::http_method_get() && has_token(field("Upgrade"), "websocket") &&
         has_token(field("Connection"), "upgrade") && field("Sec-WebSocket-Version") == "13" &&
         !field("Sec-WebSocket-Key").empty();
}

template <typename Traits>
std::shared_ptr<WebSocket> upgrade_websocket(asio::io_context& ioc,
                                             const restinio::request_handle_t& req,
                                             std::vector<Header>& headers, WebSocketEvents& events,
                                             const WsOptions& options, ConnectionCap& cap,
                                             WsRegistry& websockets) {
  auto conn = std::make_shared<WsConnection>(ioc, std::move(events), options, cap);
  restinio::http_header_fields_t fields;
  const auto key = req->header().get_field("Sec-WebSocket-Key");
  fields.set_field(restinio::http_field::sec_websocket_accept, websocket_accept(key));
  for (auto& hd : headers) fields.set_field(std::move(hd.name), std::move(hd.value));
  try {
    // Delayed: frames are read once the connection object holds the socket.
    conn->attach(
        rws::upgrade<Traits>(*req, rws::activation_t::delayed, std::move(fields), conn->handler()));
  } catch (const std::exception& e) {
    log::warn("websocket upgrade failed", {{"error", e.what()}});
    return nullptr;
  }
  websockets.add(conn);
  return conn;
}

template std::shared_ptr<WebSocket> upgrade_websocket<SingleThreadTraits>(
    asio::io_context&, const restinio::request_handle_t&, std::vector<Header>&, WebSocketEvents&,
    const WsOptions&, ConnectionCap&, WsRegistry&);
template std::shared_ptr<WebSocket> upgrade_websocket<MultiThreadTraits>(
    asio::io_context&, const restinio::request_handle_t&, std::vector<Header>&, WebSocketEvents&,
    const WsOptions&, ConnectionCap&, WsRegistry&);

}  // namespace atelier::http
