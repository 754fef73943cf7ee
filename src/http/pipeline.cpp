#include "http/pipeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <optional>

#include "core/mutex.h"
#include "core/sha256.h"
#include "http/multipart.h"
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
  std::optional<Charge> charge;  // set once the caller is known
  double queue_ms = 0;
  double compute_ms = 0;
  bool watched = false;
  bool admitted = false;  // holds an admission ticket (work that takes the machine)
  Admission::Ticket ticket;
  std::atomic<bool> finished{false};  // the first finish() answers; later ones are dropped
  Mutex stream_mu;
  std::shared_ptr<StreamWriter> stream GUARDED_BY(stream_mu);  // set when the handler streams
};

namespace {

double ms_since(SteadyClock::time_point t) {
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t).count();
}

// Milliseconds with three decimals, without printf/fmt float machinery: this
// runs three times per request.
void append_ms(std::string& out, double ms) {
  if (!(ms >= 0)) ms = 0;
  // ms >= 0 here (negatives and NaN were zeroed), so + 0.5 and truncation round half up.
  // NOLINTNEXTLINE(bugprone-incorrect-roundings): non-negative, see above
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

}  // namespace

Pipeline::Pipeline(PipelineOptions opt, const Router& router, Authenticator& auth,
                   RateLimiter& limiter, QuotaLedger& ledger, Meter& meter, WorkerPool& pool,
                   Metrics& metrics, WorkerPool* inference_pool, WorkerPool* outbound_pool,
                   IdempotencyRepository* idempotency)
    : opt_(std::move(opt)),
      router_(router),
      auth_(auth),
      limiter_(limiter),
      ledger_(ledger),
      meter_(meter),
      pool_(pool),
      inference_pool_(inference_pool),
      outbound_pool_(outbound_pool),
      idempotency_(idempotency),
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

void Pipeline::dispatch(const std::shared_ptr<State>& s) {
  // While draining, requests that reach here were already arriving on open
  // connections (the listener is closed): they are served, and their
  // connections closed after the response (see finish()).
  if (auto answered = route(s)) return finish(s, std::move(*answered));
  if (auto answered = identify(s)) return finish(s, std::move(*answered));
  if (auto answered = meter(s)) return finish(s, std::move(*answered));
  s->work.deadline = Deadline::after(opt_.request_timeout);
  if (s->route->exec == Exec::inline_on_network_thread) return run_inline(s);
  run_on_pool(s);
}

std::optional<Result<Response>> Pipeline::route(const std::shared_ptr<State>& s) {
  const Request& req = s->req;
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
    return r;
  }

  Match m = router_.match(req.method, req.path);
  if (m.kind == Match::not_found) return problem(404, "no route for " + req.path, s->request_id);
  if (m.kind == Match::method_not_allowed) {
    Response r =
        problem(405, std::string(method_name(req.method)) + " is not allowed on " + req.path,
                s->request_id);
    r.set_header("Allow", m.allow);
    return r;
  }
  s->route = m.route;
  s->req.path_params = std::move(m.params);

  if (static_cast<std::int64_t>(req.body.size()) > opt_.max_body_bytes) {
    Response r = problem(413,
                         "request body of " + std::to_string(req.body.size()) +
                             " bytes exceeds the limit of " + std::to_string(opt_.max_body_bytes),
                         s->request_id, {{"limit_bytes", opt_.max_body_bytes}});
    r.close_connection = true;
    return r;
  }
  return std::nullopt;
}

std::optional<Result<Response>> Pipeline::identify(const std::shared_ptr<State>& s) {
  const Request& req = s->req;
  const RouteSpec& route = *s->route;
  if (route.access == Access::open) {
    // Open but abusable (register, login): limited per client IP.
    if (route.rate_limited) s->identity.id = "ip:" + req.client_ip;
    return std::nullopt;
  }
  auto id = auth_.authenticate(req.header("Authorization"), req.header("X-API-Key"), req.client_ip);
  if (!id.is_ok()) {
    // Failed credentials count against the client IP, so guessing keys or
    // tokens runs into the same limits and block as any other traffic.
    s->identity.id = "ip:" + req.client_ip;
    s->rate = limiter_.admit(s->identity.id);
    if (!s->rate.allowed && s->rate.binding.name != Limit::limiter_unavailable)
      return refuse(s, s->rate);
    return id.status();
  }
  s->identity = std::move(id).value();
  if (route.access == Access::user && s->identity.anonymous())
    return Status::unauthenticated("this endpoint needs an API key or a bearer token");
  if (route.access == Access::admin) {
    if (s->identity.anonymous()) return Status::unauthenticated("admin credentials required");
    if (!s->identity.admin()) return Status::permission_denied("admin role required");
  }
  return std::nullopt;
}

std::optional<Result<Response>> Pipeline::meter(const std::shared_ptr<State>& s) {
  const RouteSpec& route = *s->route;
  // The rate limits, then the quota: one call (one round trip with Redis).
  const bool rate_limited = route.rate_limited && !s->identity.id.empty();
  const bool metered = route.access != Access::open && route.cost > 0;
  const auto limit = daily_limit(s->identity);
  Metered checked;
  if (rate_limited || metered)
    checked = meter_.check(s->identity.id, rate_limited, metered ? route.cost : 0, limit);
  if (rate_limited) {
    s->rate = checked.rate;
    if (!s->rate.allowed) return refuse(s, s->rate);
  }
  if (metered) {
    s->quota = checked.quota;
    if (!s->quota.allowed) return refuse(s, s->quota);
  }
  // Every routed request has a Charge (ctx.charge is never null): on open
  // routes it holds nothing and charges no one.
  s->charge.emplace(ledger_, s->identity.id, limit, metered ? route.cost : 0,
                    utc_day(system_clock_seconds()()));
  return std::nullopt;
}

Response Pipeline::refuse(const std::shared_ptr<State>& s, const Decision& d) {
  const Limit limit = d.binding.name;
  if (limit == Limit::limiter_unavailable || limit == Limit::usage_store_unavailable) {
    // The shared counters cannot be read (Redis or the usage store down,
    // failure mode closed): nothing is served unmetered.
    Response r = problem(503, describe_limit(d.binding), s->request_id);
    r.set_header("Retry-After", "1");
    return r;
  }
  metrics_.rate_limited(tier_name(s->identity.tier), limit_name(limit));
  nlohmann::json extra = {{"limit", limit_name(limit)}};
  if (limit == Limit::daily_quota && s->route) extra["cost"] = s->route->cost;
  Response r = problem(429, describe_limit(d.binding), s->request_id, extra);
  r.set_header("Retry-After", std::to_string(std::max<std::int64_t>(1, d.retry_after_s)));
  return r;
}

std::int64_t Pipeline::daily_limit(const Identity& who) const {
  return opt_.daily_limit[static_cast<int>(who.tier)];
}

RequestContext Pipeline::context(const std::shared_ptr<State>& s) {
  RequestContext ctx{s->req, s->identity, s->work, s->request_id, stream_opener(s)};
  if (s->charge) ctx.charge = &*s->charge;
  return ctx;
}

void Pipeline::run_inline(const std::shared_ptr<State>& s) {
  RequestContext ctx = context(s);
  ctx.upgrade = upgrader(s);
  if (s->route->message_cost > 0 && ctx.upgrade) ctx.meter_message = message_meter(*s->route);
  const auto t = SteadyClock::now();
  Result<Response> out = run_handler(s, ctx);
  s->compute_ms = ms_since(t);
  finish(s, std::move(out));
}

MessageMeter Pipeline::message_meter(const RouteSpec& route) {
  return [this, cost = route.message_cost,
          rate_limited = route.rate_limited](const Identity& who) -> MessageCharge {
    const auto limit = daily_limit(who);
    const Metered checked = meter_.check(who.id, rate_limited, cost, limit);
    for (const Decision* d : {&checked.rate, &checked.quota}) {
      if (d->allowed) continue;
      const Limit l = d->binding.name;
      if (l == Limit::limiter_unavailable || l == Limit::usage_store_unavailable)
        return {nullptr, Status::unavailable(describe_limit(d->binding)), 1};
      metrics_.rate_limited(tier_name(who.tier), limit_name(l));
      return {nullptr, Status::resource_exhausted(describe_limit(d->binding)),
              std::max<std::int64_t>(1, d->retry_after_s)};
    }
    return {
        std::make_shared<Charge>(ledger_, who.id, limit, cost, utc_day(system_clock_seconds()())),
        Status::ok(), 0};
  };
}

void Pipeline::run_on_pool(const std::shared_ptr<State>& s) {
  const RouteSpec& route = *s->route;
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
        RequestContext ctx = context(s);
        const auto t = SteadyClock::now();
        Result<Response> out = Status::internal("handler did not run");
        try {
          out = run_handler(s, ctx);
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
    MutexLock lock(st->stream_mu);
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

namespace {

// The Server-Timing header: queue, compute and total, then what the work
// timed itself.
std::string server_timing(double queue_ms, double compute_ms, double total_ms,
                          const Timings* work) {
  std::string timing;
  timing.reserve(64);
  timing += "queue;dur=";
  append_ms(timing, queue_ms);
  timing += ", compute;dur=";
  append_ms(timing, compute_ms);
  timing += ", total;dur=";
  append_ms(timing, total_ms);
  if (work) {
    for (const auto& [name, ms] : work->entries()) {
      timing += ", ";
      timing += name;
      timing += ";dur=";
      append_ms(timing, ms);
    }
  }
  return timing;
}

// What a request asks, for Idempotency-Key: its method, target, media type
// and body; a form's parts rather than its bytes, so that a retry with a new
// multipart boundary asks the same thing.
std::string fingerprint(const Request& req) {
  std::string what(method_name(req.method));
  what += ' ' + req.path + '?' + req.query + '\n';
  if (!is_multipart(req)) {
    what += req.header("Content-Type");
    what += '\n';
    what += req.body;
    return sha256_hex(what);
  }
  auto parts = parse_multipart(req);
  if (!parts.is_ok()) return sha256_hex(what + req.body);
  for (const auto& p : *parts) {
    what += p.name + '\n' + p.filename + '\n' + p.content_type + '\n' + sha256_hex(p.body) + '\n';
  }
  return sha256_hex(what);
}

// A claim that never completed (its process died) is taken over after this.
constexpr std::int64_t kStaleClaimSeconds = 600;

}  // namespace

Result<Response> Pipeline::run_handler(const std::shared_ptr<State>& s, const RequestContext& ctx) {
  const RouteSpec& route = *s->route;
  const std::string_view given = s->req.header("Idempotency-Key");
  if (route.idempotency != Idempotency::pipeline || !idempotency_ || given.empty())
    return route.handler(ctx);
  if (given.size() > 255)
    return Status::invalid_argument("Idempotency-Key must have 1 to 255 characters");
  const std::string key(given);
  const std::string& owner = s->identity.id;
  IdempotencyRepository keys = idempotency_->in(s->work);
  ATELIER_ASSIGN_OR_RETURN(
      KeyClaim claim,
      keys.claim(owner, key, fingerprint(s->req), system_clock_seconds()(), kStaleClaimSeconds));
  switch (claim.kind) {
    case KeyClaim::mismatch:
      return Status::unprocessable(
          "this Idempotency-Key was used for a different request; use a new key for new content");
    case KeyClaim::in_progress:
      return Status::already_exists(
          "a request with this Idempotency-Key is still being processed; retry when it is done");
    case KeyClaim::replay: {
      // Answered before: the same answer again, and nothing charged twice.
      if (ctx.charge) ctx.charge->refund();
      Response r = Response::text(claim.answer.status, std::move(claim.answer.body),
                                  std::move(claim.answer.content_type));
      if (!claim.answer.location.empty()) r.set_header("Location", claim.answer.location);
      r.set_header("Idempotent-Replayed", "true");
      return r;
    }
    case KeyClaim::claimed:
      break;
  }
  Result<Response> out = route.handler(ctx);
  // Only a success is kept; after a failure the key may be used again.
  // Recorded even when the request's deadline passed or its client left
  // meanwhile (that is when clients retry): with its own short deadline, not
  // the request's. (Failures are logged: the request itself was answered.)
  WorkContext bookkeeping;
  bookkeeping.deadline = Deadline::after(std::chrono::seconds(10));
  IdempotencyRepository record = idempotency_->in(bookkeeping);
  const bool kept = out.is_ok() && out->status < 300 && !out->streamed;
  Status st = kept ? record.complete(owner, key,
                                     {out->status, out->content_type,
                                      std::string(out->header("Location")), out->body})
                   : record.release(owner, key);
  if (!st.is_ok() && st.code() != Code::unauthenticated)
    log::warn("idempotency key not recorded",
              {{"request_id", s->request_id}, {"error", st.message()}});
  return out;
}

Result<Response> Pipeline::end_stream(const std::shared_ptr<State>& s, Result<Response> result) {
  std::shared_ptr<StreamWriter> stream;
  {
    MutexLock lock(s->stream_mu);
    stream = s->stream;
  }
  if (!stream) return result;
  // The status and headers are out: what is left is to end the stream
  // (after a deadline or an error the client sees it end early).
  stream->end();
  if (result.is_ok() && result->streamed) return result;
  Response r;
  r.status = result.is_ok() ? result->status : http_status(result.status().code());
  r.streamed = true;
  r.streamed_bytes = stream->bytes_written();
  return r;
}

Response Pipeline::answer_of(const std::shared_ptr<State>& s, Result<Response> result) {
  // A handler's reserve() refused by a limit: answered as the pipeline's own refusals are.
  if (!result.is_ok() && s->charge && result.status().code() == Code::resource_exhausted) {
    if (auto refused = s->charge->refusal()) {
      s->quota = *refused;
      result = refuse(s, *refused);
    }
  }
  const bool unavailable = !result.is_ok() && result.status().code() == Code::unavailable;
  Response r = result.is_ok() ? std::move(result).value() : problem(result.status(), s->request_id);
  if (s->route && s->route->openai_errors) add_openai_error(r);
  r.headers.reserve(r.headers.size() + 6);
  if (unavailable && !r.has_header("Retry-After")) r.set_header("Retry-After", "1");
  // Only successful work is charged: give the units back otherwise.
  if (s->charge && r.status >= 400) {
    const std::int64_t back = s->charge->refund();
    // RateLimit-Remaining counted only the route's cost off; units a handler
    // reserved on top were never shown as taken.
    if (s->quota.has_binding && s->quota.allowed && s->route)
      s->quota.binding.remaining += std::min(back, s->route->cost);
  }
  return r;
}

void Pipeline::record(const std::shared_ptr<State>& s, const Response& r, double total_ms) {
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
}

void Pipeline::finish(const std::shared_ptr<State>& s, Result<Response> result) {
  // Pool work is answered by whichever comes first: its handler, or the
  // deadline timer (504); the other's answer is dropped.
  if (s->finished.exchange(true)) return;
  result = end_stream(s, std::move(result));
  if (s->watched && s->req.watch) {
    s->req.watch->unwatch(s->req.connection_id);
    s->watched = false;
  }
  Response r = answer_of(s, std::move(result));
  if (!r.streamed) decorate(s, r);
  const double total_ms = ms_since(s->start);
  r.headers.push_back({"Server-Timing",
                       server_timing(s->queue_ms, s->compute_ms, total_ms, s->work.timings.get())});
  if (s->req.method == Method::head) r.body.clear();
  record(s, r, total_ms);
  Done done = std::move(s->done);
  if (!r.streamed) done(std::move(r));  // a stream has answered through its writer
  // After done(): a drain that sees zero in flight has every response queued.
  metrics_.in_flight().Decrement();
  in_flight_.fetch_sub(1);
}

}  // namespace atelier::http
