#include "http/server.h"

#include <restinio/all.hpp>
#include <restinio/websocket/websocket.hpp>

#include <atomic>
#include <charconv>
#include <csignal>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "http/problem.h"
#include "http/wire_guard.h"
#include "obs/log.h"

namespace atelier::http {

// What every connection's WireGuard shares: the limits (set before the
// server starts, read-only after) and the count of connections part-way
// through reading a request (a drain waits for them).
struct WireShared {
  WireLimits limits;
  std::atomic<int> reading{0};
};

// The socket RESTinio reads from. Every byte read goes through the
// connection's WireGuard first (see wire_guard.h); writes, waits and socket
// options go straight to the TCP socket. RESTinio moves sockets out of its
// accept pool and accepts into the moved-from one again, so a moved-from
// GuardedSocket is a fresh, closed socket.
class GuardedSocket {
 public:
  using inner_t = asio::ip::tcp::socket;
  using executor_type = inner_t::executor_type;
  using lowest_layer_type = inner_t::lowest_layer_type;
  using native_handle_type = inner_t::native_handle_type;

  // Set once by the server before it accepts anything.
  static inline WireShared* shared = nullptr;

  explicit GuardedSocket(asio::io_context& ioc)
      : st_(std::make_unique<State>(ioc.get_executor())) {}
  GuardedSocket(GuardedSocket&& o) noexcept : st_(std::move(o.st_)) {
    o.st_ = std::make_unique<State>(st_->sock.get_executor());
  }
  GuardedSocket& operator=(GuardedSocket&& o) noexcept {
    std::swap(st_, o.st_);
    return *this;
  }
  ~GuardedSocket() = default;

  executor_type get_executor() { return st_->sock.get_executor(); }
  lowest_layer_type& lowest_layer() { return st_->sock.lowest_layer(); }
  const lowest_layer_type& lowest_layer() const { return st_->sock.lowest_layer(); }
  bool is_open() const { return st_->sock.is_open(); }
  void close() {
    release_parked();
    asio::error_code ec;
    st_->sock.close(ec);
  }
  void close(asio::error_code& ec) {
    release_parked();
    st_->sock.close(ec);
  }
  void shutdown(asio::socket_base::shutdown_type what, asio::error_code& ec) {
    st_->sock.shutdown(what, ec);
  }
  void cancel(asio::error_code& ec) {
    release_parked();
    st_->sock.cancel(ec);
  }
  native_handle_type native_handle() { return st_->sock.native_handle(); }
  asio::ip::tcp::endpoint remote_endpoint() const { return st_->sock.remote_endpoint(); }
  asio::ip::tcp::endpoint remote_endpoint(asio::error_code& ec) const {
    return st_->sock.remote_endpoint(ec);
  }
  bool native_non_blocking() const { return st_->sock.native_non_blocking(); }
  void native_non_blocking(bool mode, asio::error_code& ec) {
    st_->sock.native_non_blocking(mode, ec);
  }
  template <typename WaitHandler>
  auto async_wait(asio::socket_base::wait_type w, WaitHandler&& h) {
    return st_->sock.async_wait(w, std::forward<WaitHandler>(h));
  }
  template <typename Buffers, typename Handler>
  auto async_write_some(const Buffers& b, Handler&& h) {
    return st_->sock.async_write_some(b, std::forward<Handler>(h));
  }

  template <typename Buffers, typename Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    State* st = st_.get();
    auto ex = asio::get_associated_executor(handler, st->sock.get_executor());
    if (!st->out.empty()) {
      asio::post(ex, [st, buffers, h = std::forward<Handler>(handler)]() mutable {
        const std::size_t k = asio::buffer_copy(buffers, asio::buffer(st->out));
        st->out.erase(0, k);
        h(asio::error_code{}, k);
      });
      return;
    }
    if (st->guard.cut()) {
      asio::post(ex, [h = std::forward<Handler>(handler)]() mutable {
        h(asio::error::connection_reset, 0);
      });
      return;
    }
    if (st->guard.refused()) {
      // The verdict went up; read no more. The handler is completed (as
      // aborted) when RESTinio closes the socket after answering.
      st->parked_executor = ex;
      st->parked = [h = std::forward<Handler>(handler)](asio::error_code ec,
                                                        std::size_t n) mutable { h(ec, n); };
      return;
    }
    read_more(st, buffers, std::forward<Handler>(handler));
  }

 private:
  struct State {
    explicit State(const asio::any_io_executor& ex) : sock(ex) {}
    ~State() {
      if (counted && shared) shared->reading.fetch_sub(1);
    }
    inner_t sock;
    WireGuard guard{shared ? shared->limits : WireLimits{}};
    std::string out;  // released by the guard, not yet handed to RESTinio
    std::array<char, 16 * 1024> in{};
    bool counted = false;  // counted in shared->reading
    std::function<void(asio::error_code, std::size_t)> parked;
    asio::any_io_executor parked_executor;

    void update_reading() {
      const bool now = guard.mid_request();
      if (now == counted || !shared) return;
      counted = now;
      shared->reading.fetch_add(now ? 1 : -1);
    }
  };

  template <typename Buffers, typename Handler>
  static void read_more(State* st, const Buffers& buffers, Handler&& handler) {
    auto ex = asio::get_associated_executor(handler, st->sock.get_executor());
    st->sock.async_read_some(
        asio::buffer(st->in),
        asio::bind_executor(ex, [st, buffers, h = std::forward<Handler>(handler)](
                                    const asio::error_code& ec, std::size_t n) mutable {
          if (ec) {
            h(ec, 0);
            return;
          }
          st->guard.feed(std::string_view(st->in.data(), n), &st->out);
          st->update_reading();
          if (st->guard.cut()) {
            // An oversized WebSocket frame: the connection ends here.
            st->out.clear();
            h(asio::error::connection_reset, 0);
            return;
          }
          if (st->out.empty()) {
            // Everything read so far is part of a request head still held back.
            read_more(st, buffers, std::move(h));
            return;
          }
          const std::size_t k = asio::buffer_copy(buffers, asio::buffer(st->out));
          st->out.erase(0, k);
          h(asio::error_code{}, k);
        }));
  }

  void release_parked() {
    if (!st_ || !st_->parked) return;
    auto h = std::move(st_->parked);
    st_->parked = nullptr;
    asio::post(st_->parked_executor,
               [h = std::move(h)]() mutable { h(asio::error::operation_aborted, 0); });
  }

  std::unique_ptr<State> st_;
};

// RESTinio's two customisation points for socket types (found by ADL): no
// TLS handshake to run before reading, and no TLS socket to report.
template <typename Connection, typename StartRead, typename Failed>
void prepare_connection_and_start_read(GuardedSocket&, Connection&, StartRead start_read, Failed) {
  start_read();
}
inline restinio::tls_socket_t* make_tls_socket_pointer_for_state_listener(GuardedSocket&) noexcept {
  return nullptr;
}

namespace {

// Cancels the work of requests whose connection closed before they were
// answered: the client is gone, so their CPU time is better spent elsewhere.
class ConnectionRegistry final : public ConnectionWatch {
 public:
  CancelToken watch(std::uint64_t conn) override {
    std::lock_guard lock(mu_);
    auto& e = live_[conn];
    ++e.users;
    return e.source.token();
  }
  void unwatch(std::uint64_t conn) override {
    std::lock_guard lock(mu_);
    auto it = live_.find(conn);
    if (it != live_.end() && --it->second.users == 0) live_.erase(it);
  }
  void closed(std::uint64_t conn) {
    std::lock_guard lock(mu_);
    auto it = live_.find(conn);
    if (it != live_.end()) it->second.source.cancel();
  }

 private:
  struct Entry {
    CancelSource source;
    int users = 0;
  };
  std::mutex mu_;
  std::unordered_map<std::uint64_t, Entry> live_;  // guarded by mu_
};

// The connection cap. RESTinio's own limiter keeps a raw pointer from each
// connection back to the acceptor, and connections still parked in the
// io_context at shutdown outlive the acceptor (a use-after-free found under
// AddressSanitizer). So the cap is enforced here: a connection is admitted
// only while fewer than `cap` are open; beyond that it is closed at once
// (clients and load balancers see a fast refusal, not a hang).
class ConnectionCap {
 public:
  explicit ConnectionCap(std::size_t cap) : cap_(cap) {}
  restinio::ip_blocker::inspection_result_t inspect(
      const restinio::ip_blocker::incoming_info_t&) noexcept {
    std::size_t n = open_.load(std::memory_order_relaxed);
    while (n < cap_) {
      if (open_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed))
        return restinio::ip_blocker::allow();
    }
    refused_.fetch_add(1, std::memory_order_relaxed);
    return restinio::ip_blocker::deny();
  }
  void closed() noexcept { open_.fetch_sub(1, std::memory_order_relaxed); }

 private:
  const std::size_t cap_;
  std::atomic<std::size_t> open_{0};
  std::atomic<std::uint64_t> refused_{0};
};

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

namespace rws = restinio::websocket::basic;

// A WebSocket over RESTinio's: whole text messages for the handler, pings
// answered and sent, a dead peer closed. RESTinio calls the message handler
// on the connection's executor; everything here then runs on this object's
// strand, so the ws handle and the events are touched by one thread at a time.
class WsConnection final : public WebSocket, public std::enable_shared_from_this<WsConnection> {
 public:
  struct Options {
    std::chrono::seconds ping_every{20};
    std::size_t max_message_bytes = 1 << 20;  // a longer message closes with 1009
    std::chrono::seconds idle{300};           // not marked active for this long: closed (1000)
    std::size_t max_queued_bytes = 4 << 20;   // unread output past this: cut
  };

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

// The open WebSockets, so that a drain can tell each the server is going.
class WsRegistry {
 public:
  void add(const std::shared_ptr<WsConnection>& c) {
    std::lock_guard lock(mu_);
    std::erase_if(live_, [](const auto& w) { return w.expired(); });
    live_.push_back(c);
  }
  void close_all(int code, const std::string& reason) {
    std::vector<std::shared_ptr<WsConnection>> open;
    {
      std::lock_guard lock(mu_);
      for (auto& w : live_)
        if (auto c = w.lock()) open.push_back(std::move(c));
      live_.clear();
    }
    for (auto& c : open) c->close(code, reason);
  }
  // After the network threads stopped: breaks each connection's reference
  // cycle with RESTinio's (its handler owns it; it owns the ws handle).
  void abandon_all() {
    std::lock_guard lock(mu_);
    for (auto& w : live_)
      if (auto c = w.lock()) c->abandon();
    live_.clear();
  }

 private:
  std::mutex mu_;
  std::vector<std::weak_ptr<WsConnection>> live_;  // guarded by mu_
};

// Sec-WebSocket-Accept for a handshake's key (RFC 6455 section 4.2.2).
std::string websocket_accept(std::string_view key) {
  namespace sha1 = restinio::utils::sha1;
  const std::string s = std::string(key) + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  return restinio::utils::base64::encode(sha1::to_string(sha1::make_digest(s)));
}

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

class StateListener {
 public:
  StateListener(ConnectionRegistry& r, ConnectionCap& cap) : registry_(r), cap_(cap) {}
  void state_changed(const restinio::connection_state::notice_t& notice) noexcept {
    if (std::holds_alternative<restinio::connection_state::closed_t>(notice.cause())) {
      registry_.closed(notice.connection_id());
      cap_.closed();
    }
  }

 private:
  ConnectionRegistry& registry_;
  ConnectionCap& cap_;
};

// Both hooks are called by RESTinio through shared_ptr; they forward to
// objects owned by Server::Impl, which outlives the io_context run.
class CapHook {
 public:
  explicit CapHook(ConnectionCap& cap) : cap_(cap) {}
  restinio::ip_blocker::inspection_result_t inspect(
      const restinio::ip_blocker::incoming_info_t& info) noexcept {
    return cap_.inspect(info);
  }

 private:
  ConnectionCap& cap_;
};

// Several network threads need strands to serialise each connection; with a
// single one, RESTinio's noop strand saves a strand per async operation. Work
// answered from worker threads stays safe either way: RESTinio dispatches
// every connection operation onto the connection's executor.
struct MultiThreadTraits
    : public restinio::traits_t<restinio::asio_timer_manager_t, restinio::null_logger_t,
                                restinio::default_request_handler_t, restinio::default_strand_t,
                                GuardedSocket> {
  using connection_state_listener_t = StateListener;
  using ip_blocker_t = CapHook;
};
struct SingleThreadTraits
    : public restinio::traits_t<restinio::asio_timer_manager_t, restinio::null_logger_t,
                                restinio::default_request_handler_t, restinio::noop_strand_t,
                                GuardedSocket> {
  using connection_state_listener_t = StateListener;
  using ip_blocker_t = CapHook;
};

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
      return ChunkedWriter::open(*ioc_, req, std::move(head), registry_);
    };
    if (is_websocket_handshake(h)) {
      r.upgrade = [this, req](std::vector<Header> headers, WebSocketEvents events) {
        return upgrade<Traits>(req, headers, events);
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

  template <typename Traits>
  std::shared_ptr<WebSocket> upgrade(const restinio::request_handle_t& req,
                                     std::vector<Header>& headers, WebSocketEvents& events) {
    auto conn = std::make_shared<WsConnection>(*ioc_, std::move(events), ws_options_, cap_);
    restinio::http_header_fields_t fields;
    const auto key = req->header().get_field("Sec-WebSocket-Key");
    fields.set_field(restinio::http_field::sec_websocket_accept, websocket_accept(key));
    for (auto& hd : headers) fields.set_field(std::move(hd.name), std::move(hd.value));
    try {
      // Delayed: frames are read once the connection object holds the socket.
      conn->attach(rws::upgrade<Traits>(*req, rws::activation_t::delayed, std::move(fields),
                                        conn->handler()));
    } catch (const std::exception& e) {
      log::warn("websocket upgrade failed", {{"error", e.what()}});
      return nullptr;
    }
    websockets_.add(conn);
    return conn;
  }

  ServerOptions opt_;
  Pipeline& pipeline_;
  asio::io_context* ioc_ = nullptr;  // set by run_with for its duration
  WireShared wire_;
  ConnectionRegistry registry_;
  ConnectionCap cap_;
  WsConnection::Options ws_options_;
  WsRegistry websockets_;
};

Server::Server(ServerOptions opt, Pipeline& pipeline)
    : impl_(std::make_unique<Impl>(std::move(opt), pipeline)) {}
Server::~Server() = default;
Status Server::run(const std::function<void()>& on_listening) {
  return impl_->run(on_listening);
}

}  // namespace atelier::http
