#include "http/pipeline.h"

#include <fmt/format.h>

#include <cstdio>
#include <mutex>

#include "http/problem.h"
#include "identity/crypto.h"
#include "obs/log.h"

namespace atelier::http {

struct Pipeline::State {
  Request req;
  Done done;
  SteadyClock::time_point start;
  std::string request_id;
  const RouteSpec* route = nullptr;
  Identity identity;
  WorkContext work;
  Decision rate;
  Decision quota;
  std::int64_t charged_units = 0;
  std::string charged_day;
  double queue_ms = 0;
  double compute_ms = 0;
  bool watched = false;
  bool admitted = false;  // holds an admission ticket (work that takes the machine)
  Admission::Ticket ticket;
  std::atomic<bool> finished{false};  // the first finish() answers; later ones are dropped
  std::mutex stream_mu;
  std::shared_ptr<StreamWriter> stream;  // guarded by stream_mu: set when the handler streams
};

namespace {

double ms_since(SteadyClock::time_point t) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t).count();
}

// Milliseconds with three decimals, without printf/fmt float machinery: this
// runs three times per request.
void append_ms(std::string& out, double ms) {
  if (!(ms >= 0)) ms = 0;
  const auto us = static_cast<unsigned long long>(ms * 1000.0 + 0.5);
  out += std::to_string(us / 1000);
  const auto frac = static_cast<unsigned>(us % 1000);
  const char digits[4] = {'.', static_cast<char>('0' + frac / 100),
                          static_cast<char>('0' + frac / 10 % 10),
                          static_cast<char>('0' + frac % 10)};
  out.append(digits, 4);
}

bool valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id) {
    if (!(std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == ':')) return false;
  }
  return true;
}

// Handlers never set these, so they are appended without a lookup.
void add_rate_headers(Response& r, const Decision& d) {
  if (!d.has_binding) return;
  r.headers.push_back({"RateLimit-Limit", std::to_string(d.binding.limit)});
  r.headers.push_back(
      {"RateLimit-Remaining", std::to_string(std::max<std::int64_t>(0, d.binding.remaining))});
  r.headers.push_back(
      {"RateLimit-Reset", std::to_string(std::max<std::int64_t>(0, d.binding.reset_s))});
}

// The binding limit across both decisions: the one with fewer units left.
const Decision& tighter(const Decision& a, const Decision& b) {
  if (!a.has_binding) return b;
  if (!b.has_binding) return a;
  return b.binding.remaining < a.binding.remaining ? b : a;
}

std::string describe_limit(const LimitState& l) {
  if (l.name == "blocked") return "caller is blocked after repeated limit violations";
  if (l.name == "global_minute")
    return "server-wide limit of " + std::to_string(l.limit) + " requests per minute reached";
  if (l.name == "global_hour")
    return "server-wide limit of " + std::to_string(l.limit) + " requests per hour reached";
  if (l.name == "identity_minute")
    return "limit of " + std::to_string(l.limit) + " requests per minute reached";
  if (l.name == "daily_quota")
    return "daily quota of " + std::to_string(l.limit) + " cost units reached";
  return l.name;
}

}  // namespace

Pipeline::Pipeline(PipelineOptions opt, const Router& router, Authenticator& auth,
                   RateLimiter& limiter, QuotaLedger& ledger, Meter& meter, WorkerPool& pool,
                   Metrics& metrics, WorkerPool* inference_pool, WorkerPool* outbound_pool)
    : opt_(std::move(opt)),
      router_(router),
      auth_(auth),
      limiter_(limiter),
      ledger_(ledger),
      meter_(meter),
      pool_(pool),
      inference_pool_(inference_pool),
      outbound_pool_(outbound_pool),
      metrics_(metrics),
      id_prefix_(random_hex(4)),
      admission_() {}

std::string Pipeline::next_request_id(const Request& req) {
  auto given = req.header("X-Request-ID");
  if (valid_request_id(given)) return std::string(given);
  return fmt::format("{}-{:08x}", id_prefix_, seq_.fetch_add(1, std::memory_order_relaxed));
}

void Pipeline::add_cors(const Request& req, Response& r) const {
  auto origin = req.header("Origin");
  if (origin.empty() || opt_.cors_origins.empty()) return;
  for (const auto& o : opt_.cors_origins) {
    if (o == "*" || o == origin) {
      r.set_header("Access-Control-Allow-Origin", o == "*" ? "*" : std::string(origin));
      if (o != "*") r.set_header("Vary", "Origin");
      r.set_header("Access-Control-Expose-Headers",
                   "X-Request-ID, Server-Timing, RateLimit-Limit, RateLimit-Remaining, "
                   "RateLimit-Reset, Retry-After");
      return;
    }
  }
}

void Pipeline::handle(Request&& req, Done done) {
  auto s = std::make_shared<State>();
  s->start = SteadyClock::now();
  s->req = std::move(req);
  s->done = std::move(done);
  s->request_id = next_request_id(s->req);
  in_flight_.fetch_add(1);
  metrics_.in_flight().Increment();
  try {
    dispatch(s);
  } catch (const std::exception& e) {
    log::error("unhandled exception in request pipeline",
               {{"request_id", s->request_id}, {"error", e.what()}});
    finish(s, Status::internal("unexpected error"));
  }
}

void Pipeline::dispatch(std::shared_ptr<State> s) {
  const Request& req = s->req;
  // While draining, requests that reach here were already arriving on open
  // connections (the listener is closed): they are served, and their
  // connections closed after the response (see finish()).

  // CORS preflight: answered for any known path, before identity.
  if (req.method == Method::options && req.has_header("Access-Control-Request-Method")) {
    Response r = Response::no_content();
    auto origin = req.header("Origin");
    bool allowed = false;
    for (const auto& o : opt_.cors_origins) allowed |= (o == "*" || o == origin);
    if (allowed) {
      r.set_header("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, OPTIONS");
      r.set_header("Access-Control-Allow-Headers",
                   "Authorization, Content-Type, X-API-Key, X-Request-ID, Idempotency-Key");
      r.set_header("Access-Control-Max-Age", "600");
    }
    return finish(s, std::move(r));
  }

  Match m = router_.match(req.method, req.path);
  if (m.kind == Match::not_found) {
    return finish(s, problem(404, "no route for " + req.path, s->request_id));
  }
  if (m.kind == Match::method_not_allowed) {
    Response r =
        problem(405, std::string(method_name(req.method)) + " is not allowed on " + req.path,
                s->request_id);
    r.set_header("Allow", m.allow);
    return finish(s, std::move(r));
  }
  s->route = m.route;
  s->req.path_params = std::move(m.params);
  const RouteSpec& route = *s->route;

  if (static_cast<std::int64_t>(req.body.size()) > opt_.max_body_bytes) {
    Response r = problem(413,
                         "request body of " + std::to_string(req.body.size()) +
                             " bytes exceeds the limit of " + std::to_string(opt_.max_body_bytes),
                         s->request_id, {{"limit_bytes", opt_.max_body_bytes}});
    r.close_connection = true;
    return finish(s, std::move(r));
  }

  if (route.access != Access::open) {
    auto id =
        auth_.authenticate(req.header("Authorization"), req.header("X-API-Key"), req.client_ip);
    if (!id.is_ok()) {
      // Failed credentials count against the client IP, so guessing keys or
      // tokens runs into the same limits and block as any other traffic.
      s->identity.id = "ip:" + req.client_ip;
      s->rate = limiter_.admit(s->identity.id);
      if (!s->rate.allowed && s->rate.binding.name != "limiter_unavailable") {
        metrics_.rate_limited(tier_name(Tier::free), s->rate.binding.name);
        Response r = problem(429, describe_limit(s->rate.binding), s->request_id,
                             {{"limit", s->rate.binding.name}});
        r.set_header("Retry-After",
                     std::to_string(std::max<std::int64_t>(1, s->rate.retry_after_s)));
        return finish(s, std::move(r));
      }
      return finish(s, id.status());
    }
    s->identity = std::move(id).value();
    if (route.access == Access::user && s->identity.anonymous()) {
      return finish(s, Status::unauthenticated("this endpoint needs an API key or a bearer token"));
    }
    if (route.access == Access::admin) {
      if (s->identity.anonymous())
        return finish(s, Status::unauthenticated("admin credentials required"));
      if (!s->identity.admin()) return finish(s, Status::permission_denied("admin role required"));
    }
  }

  if (route.access == Access::open && route.rate_limited) {
    // Open but abusable (register, login): limited per client IP.
    s->identity.id = "ip:" + req.client_ip;
  }
  // The rate limits, then the quota: one call (one round trip with Redis).
  const bool rate_limited = route.rate_limited && !s->identity.id.empty();
  const bool metered = route.access != Access::open && route.cost > 0;
  const auto limit = opt_.daily_limit[static_cast<int>(s->identity.tier)];
  Metered checked;
  if (rate_limited || metered)
    checked = meter_.check(s->identity.id, rate_limited, metered ? route.cost : 0, limit);
  if (rate_limited) {
    s->rate = checked.rate;
    if (!s->rate.allowed && s->rate.binding.name == "limiter_unavailable") {
      // The shared counters cannot be read (Redis down, failure mode closed).
      Response r = problem(503, "rate limiter unavailable", s->request_id);
      r.set_header("Retry-After", "1");
      return finish(s, std::move(r));
    }
    if (!s->rate.allowed) {
      metrics_.rate_limited(tier_name(s->identity.tier), s->rate.binding.name);
      Response r = problem(429, describe_limit(s->rate.binding), s->request_id,
                           {{"limit", s->rate.binding.name}});
      r.set_header("Retry-After", std::to_string(std::max<std::int64_t>(1, s->rate.retry_after_s)));
      return finish(s, std::move(r));
    }
  }

  if (metered) {
    s->quota = checked.quota;
    if (!s->quota.allowed) {
      if (s->quota.binding.name == "usage_store_unavailable") {
        Response r = problem(503, "usage store unavailable", s->request_id);
        r.set_header("Retry-After", "1");
        return finish(s, std::move(r));
      }
      metrics_.rate_limited(tier_name(s->identity.tier), "daily_quota");
      Response r = problem(429, describe_limit(s->quota.binding), s->request_id,
                           {{"limit", "daily_quota"}, {"cost", route.cost}});
      r.set_header("Retry-After",
                   std::to_string(std::max<std::int64_t>(1, s->quota.retry_after_s)));
      return finish(s, std::move(r));
    }
    s->charged_units = route.cost;
    s->charged_day = utc_day(system_clock_seconds()());
  }

  s->work.deadline = Deadline::after(opt_.request_timeout);
  if (route.exec == Exec::inline_on_network_thread) {
    RequestContext ctx{s->req, s->identity, s->work, s->request_id, stream_opener(s), upgrader(s)};
    const auto t = SteadyClock::now();
    Result<Response> out = route.handler(ctx);
    s->compute_ms = ms_since(t);
    return finish(s, std::move(out));
  }

  if (route.exec != Exec::outbound_pool) {
    int retry_after_s = 1;
    auto ticket =
        admission_.admit(s->route, SteadyClock::now(), s->work.deadline.at, &retry_after_s);
    if (!ticket.is_ok()) {
      Response r = problem(ticket.status(), s->request_id);
      r.set_header("Retry-After", std::to_string(retry_after_s));
      return finish(s, std::move(r));
    }
    s->ticket = *ticket;
    s->admitted = true;
  }
  // Pool work reports its phases (decode, model wait, forward, ...) in Server-Timing.
  s->work.timings = std::make_shared<Timings>();
  if (s->req.watch) {
    s->work.cancel = s->req.watch->watch(s->req.connection_id);
    s->watched = true;
  }
  if (s->work.deadline.at != SteadyClock::time_point::max()) {
    timer_.at(s->work.deadline.at, [this, w = std::weak_ptr<State>(s)] {
      if (auto late = w.lock()) {
        finish(late, Status::deadline_exceeded("the request did not finish before its deadline"));
      }
    });
  }
  WorkerPool* waiting_pool = inference_pool_ ? inference_pool_ : &pool_;
  WorkerPool& target = route.exec == Exec::outbound_pool
                           ? (outbound_pool_ ? *outbound_pool_ : *waiting_pool)
                       : route.exec == Exec::inference_pool ? *waiting_pool
                                                            : pool_;
  Status submitted =
      target.submit(s->work, [this, s](const Status& pre, SteadyClock::duration waited) {
        s->queue_ms = std::chrono::duration<double, std::milli>(waited).count();
        if (!pre.is_ok()) {
          if (s->admitted) admission_.done(s->ticket, false, SteadyClock::now());
          return finish(s, pre);
        }
        if (s->admitted) admission_.start(s->ticket, SteadyClock::now());
        RequestContext ctx{s->req, s->identity, s->work, s->request_id, stream_opener(s)};
        const auto t = SteadyClock::now();
        Result<Response> out = Status::internal("handler did not run");
        try {
          out = s->route->handler(ctx);
        } catch (const std::exception& e) {
          log::error("handler threw", {{"request_id", s->request_id}, {"error", e.what()}});
          out = Status::internal("unexpected error");
        }
        s->compute_ms = ms_since(t);
        if (s->admitted) admission_.done(s->ticket, true, SteadyClock::now());
        finish(s, std::move(out));
      });
  if (!submitted.is_ok()) {
    if (s->admitted) admission_.done(s->ticket, false, SteadyClock::now());
    Response r = problem(submitted, s->request_id);
    r.set_header("Retry-After", "1");
    finish(s, std::move(r));
  }
}

StreamOpener Pipeline::stream_opener(const std::shared_ptr<State>& s) {
  if (!s->req.open_stream) return nullptr;
  return [this, w = std::weak_ptr<State>(s)](Response head) -> std::shared_ptr<StreamWriter> {
    auto st = w.lock();
    if (!st || st->finished.load()) return nullptr;
    decorate(st, head);
    head.headers.push_back({"Server-Timing", "queue;dur=" + std::to_string(st->queue_ms)});
    auto writer = st->req.open_stream(std::move(head));
    std::lock_guard lock(st->stream_mu);
    st->stream = writer;
    return writer;
  };
}

WebSocketUpgrader Pipeline::upgrader(const std::shared_ptr<State>& s) {
  if (!s->req.upgrade) return nullptr;
  // Called by the inline handler while `s` is alive.
  return [st = s.get()](std::vector<Header> headers,
                        WebSocketEvents events) -> std::shared_ptr<WebSocket> {
    headers.push_back({"X-Request-ID", st->request_id});
    return st->req.upgrade(std::move(headers), std::move(events));
  };
}

void Pipeline::decorate(const std::shared_ptr<State>& s, Response& r) {
  if (s->route && !s->identity.id.empty() && r.status != 429) {
    add_rate_headers(r, tighter(s->rate, s->quota));
  } else if (r.status == 429) {
    add_rate_headers(r, s->rate.allowed ? s->quota : s->rate);
  }
  r.headers.push_back({"X-Request-ID", s->request_id});
  add_cors(s->req, r);
  if (draining()) r.close_connection = true;
}

void Pipeline::finish(const std::shared_ptr<State>& s, Result<Response> result) {
  // Pool work is answered by whichever comes first: its handler, or the
  // deadline timer (504); the other's answer is dropped.
  if (s->finished.exchange(true)) return;
  std::shared_ptr<StreamWriter> stream;
  {
    std::lock_guard lock(s->stream_mu);
    stream = s->stream;
  }
  if (stream) {
    // The status and headers are out: what is left is to end the stream
    // (after a deadline or an error the client sees it end early).
    stream->end();
    if (!result.is_ok() || !result->streamed) {
      Response r;
      r.status = result.is_ok() ? result->status : http_status(result.status().code());
      r.streamed = true;
      r.streamed_bytes = stream->bytes_written();
      result = std::move(r);
    }
  }
  if (s->watched && s->req.watch) {
    s->req.watch->unwatch(s->req.connection_id);
    s->watched = false;
  }
  Response r = result.is_ok() ? std::move(result).value() : problem(result.status(), s->request_id);
  if (s->route && s->route->openai_errors) add_openai_error(r);
  r.headers.reserve(r.headers.size() + 6);
  if (!result.is_ok() && result.status().code() == Code::unavailable &&
      !r.has_header("Retry-After")) {
    r.set_header("Retry-After", "1");
  }
  // Only successful work is charged: give the units back otherwise.
  if (s->charged_units > 0 && r.status >= 400) {
    ledger_.refund(s->identity.id, s->charged_day, s->charged_units);
    if (s->quota.has_binding) s->quota.binding.remaining += s->charged_units;
  }
  if (!r.streamed) decorate(s, r);
  const double total_ms = ms_since(s->start);
  std::string timing;
  timing.reserve(64);
  timing += "queue;dur=";
  append_ms(timing, s->queue_ms);
  timing += ", compute;dur=";
  append_ms(timing, s->compute_ms);
  timing += ", total;dur=";
  append_ms(timing, total_ms);
  if (s->work.timings) {
    for (const auto& [name, ms] : s->work.timings->entries()) {
      timing += ", ";
      timing += name;
      timing += ";dur=";
      append_ms(timing, ms);
    }
  }
  r.headers.push_back({"Server-Timing", std::move(timing)});
  if (s->req.method == Method::head) r.body.clear();

  static const std::string kUnmatched = "unmatched";
  // A reference to the route's own template: Metrics caches series by address.
  const std::string& route_label = s->route ? s->route->path : kUnmatched;
  const std::string method(method_name(s->req.method));
  metrics_.observe_request(method, route_label, r.status, total_ms / 1000.0);
  if (opt_.access_log) {
    log::access({s->request_id, method, route_label, s->identity.id, tier_name(s->identity.tier),
                 r.status, total_ms, r.streamed ? r.streamed_bytes : r.body.size()},
                s->route && s->route->quiet_access_log ? log::Level::debug : log::Level::info);
  }
  Done done = std::move(s->done);
  if (!r.streamed) done(std::move(r));  // a stream has answered through its writer
  // After done(): a drain that sees zero in flight has every response queued.
  metrics_.in_flight().Decrement();
  in_flight_.fetch_sub(1);
}

}  // namespace atelier::http
