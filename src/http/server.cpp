#include "http/server.h"

#include <restinio/all.hpp>

#include <atomic>
#include <charconv>
#include <csignal>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "http/problem.h"
#include "obs/log.h"

namespace atelier::http {
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
  restinio::ip_blocker::inspection_result_t inspect(const restinio::ip_blocker::incoming_info_t&) noexcept {
    std::size_t n = open_.load(std::memory_order_relaxed);
    while (n < cap_) {
      if (open_.compare_exchange_weak(n, n + 1, std::memory_order_relaxed)) return restinio::ip_blocker::allow();
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
  restinio::ip_blocker::inspection_result_t inspect(const restinio::ip_blocker::incoming_info_t& info) noexcept {
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
    : public restinio::traits_t<restinio::asio_timer_manager_t, restinio::null_logger_t> {
  using connection_state_listener_t = StateListener;
  using ip_blocker_t = CapHook;
};
struct SingleThreadTraits
    : public restinio::single_thread_traits_t<restinio::asio_timer_manager_t, restinio::null_logger_t> {
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
      : opt_(std::move(opt)), pipeline_(p), cap_(static_cast<std::size_t>(opt_.max_connections)) {}

  Status run(const std::function<void()>& on_listening) {
    if (opt_.io_threads <= 1) return run_with<SingleThreadTraits>(on_listening);
    return run_with<MultiThreadTraits>(on_listening);
  }

 private:
  template <typename Traits>
  Status run_with(const std::function<void()>& on_listening) {
    asio::io_context ioc;
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
        .incoming_http_msg_limits(restinio::incoming_http_msg_limits_t{}.max_body_size(
            static_cast<std::uint64_t>(opt_.max_body_hard_bytes)))
        .connection_state_listener(listener)
        .ip_blocker(std::make_shared<CapHook>(cap_))
        .request_handler([this](restinio::request_handle_t req) { return on_request(std::move(req)); });

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
      if (pipeline_.in_flight() == 0 || SteadyClock::now() >= drain_deadline) {
        if (pipeline_.in_flight() != 0) {
          log::warn("drain deadline reached", {{"in_flight", pipeline_.in_flight()}});
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
      log::info("draining", {{"signal", signo}, {"in_flight", pipeline_.in_flight()},
                             {"timeout_s", opt_.drain_timeout.count()}});
      pipeline_.begin_drain();
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
    return Status::ok();
  }

  restinio::request_handling_status_t on_request(restinio::request_handle_t req) {
    Request r;
    const auto& h = req->header();
    r.method = parse_method(h.method().c_str());
    r.path = url_decode(std::string_view(h.path().data(), h.path().size()), false);
    r.query.assign(h.query().data(), h.query().size());
    r.headers.reserve(h.fields_count());
    h.for_each_field([&](const restinio::http_header_field_t& f) {
      r.headers.push_back({f.name(), f.value()});
    });
    r.body = req->body();
    r.client_ip = client_ip(*req, opt_.trust_forwarded_for);
    r.connection_id = req->connection_id();
    r.watch = &registry_;
    pipeline_.handle(std::move(r), [req](Response&& resp) {
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
    return restinio::request_accepted();
  }

  ServerOptions opt_;
  Pipeline& pipeline_;
  ConnectionRegistry registry_;
  ConnectionCap cap_;
};

Server::Server(ServerOptions opt, Pipeline& pipeline)
    : impl_(std::make_unique<Impl>(std::move(opt), pipeline)) {}
Server::~Server() = default;
Status Server::run(const std::function<void()>& on_listening) { return impl_->run(on_listening); }

}  // namespace atelier::http
