// The middleware every request passes through, in this order:
//   request id -> drain check -> CORS -> route -> body limit -> identity ->
//   rate limits -> daily quota (reserve the route's cost; RequestContext::charge) -> admission
//   (pool routes: refused with 503 + Retry-After when the queued work would not let the request
//   finish before its deadline; core/admission.h) -> handler (inline or
//   worker pool) -> settle (what was reserved is refunded on failure) -> headers, metrics, access
//   log.
// handle() never throws and calls `done` exactly once, possibly from a worker
// thread; for pool routes at the latest at the deadline (504), even if the
// work is still running. Errors become problem+json here and only here.
//
// Thread safety: handle() is called concurrently from the network threads.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/admission.h"
#include "core/deadline_timer.h"
#include "core/worker_pool.h"
#include "http/router.h"
#include "idempotency/idempotency_repository.h"
#include "identity/authenticator.h"
#include "obs/metrics.h"
#include "quota/limits.h"

namespace atelier::http {

struct PipelineOptions {
  std::int64_t max_body_bytes = 20 << 20;
  std::chrono::milliseconds request_timeout{60000};
  std::vector<std::string> cors_origins;
  bool access_log = true;
  std::array<std::int64_t, 4> daily_limit{};  // by Tier; 0 = unlimited
};

class Pipeline {
 public:
  using Done = std::function<void(Response&&)>;

  // `meter` checks a request's rate limits and quota together (over
  // `limiter` and `ledger`); `limiter` alone counts failed credentials and
  // `ledger` takes refunds.
  Pipeline(PipelineOptions opt, const Router& router, Authenticator& auth, RateLimiter& limiter,
           QuotaLedger& ledger, Meter& meter, WorkerPool& pool, Metrics& metrics,
           WorkerPool* inference_pool = nullptr, WorkerPool* outbound_pool = nullptr,
           IdempotencyRepository* idempotency = nullptr);

  void handle(Request&& req, Done done);

  // SIGTERM: readiness says 503; requests already arriving are served and
  // their connections closed.
  void begin_drain() { draining_.store(true); }
  bool draining() const { return draining_.load(); }
  std::int64_t in_flight() const { return in_flight_.load(); }
  const Admission& admission() const { return admission_; }

 private:
  struct State;
  // dispatch() runs the stages in order; a stage that answers ends the request.
  void dispatch(const std::shared_ptr<State>& s);
  std::optional<Result<Response>> route(
      const std::shared_ptr<State>& s);  // preflight, match, body limit
  std::optional<Result<Response>> identify(const std::shared_ptr<State>& s);  // credentials, access
  std::optional<Result<Response>> meter(const std::shared_ptr<State>& s);     // rate limits, quota
  void run_inline(const std::shared_ptr<State>& s);
  void run_on_pool(const std::shared_ptr<State>& s);  // admission, deadline, worker pool
  // The one place a limit's refusal is answered: 429 + Retry-After with the
  // limit named, or 503 + Retry-After when the limits cannot be counted.
  Response refuse(const std::shared_ptr<State>& s, const Decision& d);
  std::int64_t daily_limit(const Identity& who) const;
  RequestContext context(const std::shared_ptr<State>& s);
  MessageMeter message_meter(const RouteSpec& route);
  // The route's handler; on a route with Idempotency::pipeline and an
  // Idempotency-Key, behind the key's claim (a replay, 409 or 422 instead of
  // running it again), its answer stored or the claim released after.
  Result<Response> run_handler(const std::shared_ptr<State>& s, const RequestContext& ctx);
  void finish(const std::shared_ptr<State>& s, Result<Response> result);
  // The steps of finish(): a begun stream ended, a refused reserve() or an
  // error turned into its answer (and the units given back), the request
  // counted and logged.
  Result<Response> end_stream(const std::shared_ptr<State>& s, Result<Response> result);
  Response answer_of(const std::shared_ptr<State>& s, Result<Response> result);
  void record(const std::shared_ptr<State>& s, const Response& r, double total_ms);
  // Headers every answer carries (request id, rate limits, CORS, close while draining).
  void decorate(const std::shared_ptr<State>& s, Response& r);
  StreamOpener stream_opener(const std::shared_ptr<State>& s);
  WebSocketUpgrader upgrader(const std::shared_ptr<State>& s);
  void add_cors(const Request& req, Response& r) const;
  std::string next_request_id(const Request& req);

  PipelineOptions opt_;
  const Router& router_;
  Authenticator& auth_;
  RateLimiter& limiter_;
  QuotaLedger& ledger_;
  Meter& meter_;
  WorkerPool& pool_;
  WorkerPool* inference_pool_;          // null: inference routes share pool_
  WorkerPool* outbound_pool_;           // null: outbound routes share the inference pool (or pool_)
  IdempotencyRepository* idempotency_;  // null: Idempotency-Key is not kept
  Metrics& metrics_;
  std::atomic<bool> draining_{false};
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::uint64_t> seq_{0};
  std::string id_prefix_;
  Admission admission_;
  DeadlineTimer timer_;  // answers 504 at the deadline of pool work still running
};

}  // namespace atelier::http
