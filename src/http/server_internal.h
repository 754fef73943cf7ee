// Private to the HTTP adapter, what its two files share: the socket every
// read passes through (GuardedSocket, the wire guard), the connection
// bookkeeping and RESTinio traits, and the streaming side's entry points.
// server.cpp accepts connections, converts requests and answers them;
// server_streaming.cpp writes chunked responses and runs WebSockets. It
// includes RESTinio, so only those two files include it.
#pragma once

#include <restinio/all.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/mutex.h"
#include "http/http.h"
#include "http/wire_guard.h"

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

// Cancels the work of requests whose connection closed before they were
// answered: the client is gone, so their CPU time is better spent elsewhere.
class ConnectionRegistry final : public ConnectionWatch {
 public:
  CancelToken watch(std::uint64_t conn) override {
    MutexLock lock(mu_);
    auto& e = live_[conn];
    ++e.users;
    return e.source.token();
  }
  void unwatch(std::uint64_t conn) override {
    MutexLock lock(mu_);
    auto it = live_.find(conn);
    if (it != live_.end() && --it->second.users == 0) live_.erase(it);
  }
  void closed(std::uint64_t conn) {
    MutexLock lock(mu_);
    auto it = live_.find(conn);
    if (it != live_.end()) it->second.source.cancel();
  }

 private:
  struct Entry {
    CancelSource source;
    int users = 0;
  };
  Mutex mu_;
  std::unordered_map<std::uint64_t, Entry> live_ GUARDED_BY(mu_);
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

// How a WebSocket is kept (WsConnection, server_streaming.cpp); set from
// ServerOptions.
struct WsOptions {
  std::chrono::seconds ping_every{20};
  std::size_t max_message_bytes = 1 << 20;  // a longer message closes with 1009
  std::chrono::seconds idle{300};           // not marked active for this long: closed (1000)
  std::size_t max_queued_bytes = 4 << 20;   // unread output past this: cut
};

class WsConnection;  // server_streaming.cpp

// The open WebSockets, so that a drain can tell each the server is going.
class WsRegistry {
 public:
  void add(const std::shared_ptr<WsConnection>& c);
  void close_all(int code, const std::string& reason);
  // After the network threads stopped: breaks each connection's reference
  // cycle with RESTinio's (its handler owns it; it owns the ws handle).
  void abandon_all();

 private:
  Mutex mu_;
  std::vector<std::weak_ptr<WsConnection>> live_ GUARDED_BY(mu_);
};

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

// The streaming side (server_streaming.cpp).

// A chunked response to `req` (status, headers and first chunk from `head`),
// written from a producer thread (see ChunkedWriter).
std::shared_ptr<StreamWriter> open_chunked_stream(asio::io_context& ioc,
                                                  restinio::request_handle_t req, Response head,
                                                  ConnectionRegistry& registry);

// A GET asking to switch to WebSocket version 13, with a key.
bool is_websocket_handshake(const restinio::http_request_header_t& h);

// Answers a WebSocket handshake (101 with `headers`) and hands the socket to
// a new WsConnection that serves `events`, listed in `websockets`; null when
// RESTinio's upgrade fails. Instantiated for SingleThreadTraits and
// MultiThreadTraits in server_streaming.cpp.
template <typename Traits>
std::shared_ptr<WebSocket> upgrade_websocket(asio::io_context& ioc,
                                             const restinio::request_handle_t& req,
                                             std::vector<Header>& headers, WebSocketEvents& events,
                                             const WsOptions& options, ConnectionCap& cap,
                                             WsRegistry& websockets);

}  // namespace atelier::http
