// GET /v1/chat/ws (the frame protocol is in socket_routes.h).
#include "chat/socket_routes.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "chat/request.h"
#include "chat/routes.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/json.h"
#include "core/mutex.h"
#include "http/problem.h"
#include "search/routes.h"

namespace atelier::api {

std::int64_t token_units(std::size_t tokens, int tokens_per_unit) {
  if (tokens_per_unit <= 0 || tokens == 0) return 0;
  return static_cast<std::int64_t>((tokens + tokens_per_unit - 1) / tokens_per_unit);
}

namespace {

using nlohmann::ordered_json;

// Sockets not signed in yet, per client address (issue 23: forty of them,
// kept alive with pings, refused every other connection). Shared by the
// route's sockets.
class UnsignedSockets {
 public:
  explicit UnsignedSockets(int per_ip) : per_ip_(per_ip) {}
  bool take(const std::string& ip) {
    MutexLock lock(mu_);
    int& n = open_[ip];
    if (n >= per_ip_) {
      if (n == 0) open_.erase(ip);
      return false;
    }
    ++n;
    return true;
  }
  void give_back(const std::string& ip) {
    MutexLock lock(mu_);
    auto it = open_.find(ip);
    if (it != open_.end() && --it->second <= 0) open_.erase(it);
  }

 private:
  const int per_ip_;
  Mutex mu_;
  std::unordered_map<std::string, int> open_ GUARDED_BY(mu_);
};

// One WebSocket's conversation. Frames arrive on a network thread
// (on_message, never blocking); turns run on the inference pool, one at a
// time per socket. Owned by the WebSocket's events and by the running turn;
// it owns the socket until the connection closes.
class ChatSocket : public std::enable_shared_from_this<ChatSocket> {
 public:
  // `counted_unsigned`: the socket holds one of its address's places for
  // sockets not signed in yet (taken before the upgrade) until it signs in
  // or closes.
  ChatSocket(ApiDeps& d, chat::ChatService& svc, ChatObserver observe,
             std::shared_ptr<chat::StreamCap> cap, std::string client_ip,
             std::shared_ptr<UnsignedSockets> unsigned_sockets, bool counted_unsigned,
             http::MessageMeter meter)
      : d_(d),
        svc_(svc),
        observe_(std::move(observe)),
        cap_(std::move(cap)),
        client_ip_(std::move(client_ip)),
        unsigned_(std::move(unsigned_sockets)),
        counted_unsigned_(counted_unsigned),
        meter_(std::move(meter)) {}

  // The handshake's credentials, checked before the upgrade; a refusal (the
  // caller's streams are capped) is told and the socket closed once attached.
  void sign_in(Identity who) {
    MutexLock lock(mu_);
    if (Status st = sign_in_locked(std::move(who)); !st.is_ok()) refuse_locked(st);
  }

  // After the upgrade. Frames may have been read (and a close seen) already
  // on another network thread: what they answered is sent now, a socket
  // already closed gives back its place, and one still unsigned gets its
  // sign-in deadline.
  void attach(std::shared_ptr<http::WebSocket> ws) {
    MutexLock lock(mu_);
    if (closed_) {
      release_unsigned_locked();
      return;
    }
    ws_ = std::move(ws);
    for (auto& text : pending_) ws_->send(std::move(text));
    pending_.clear();
    if (pending_close_) {
      ws_->close(pending_close_->first, pending_close_->second);
      pending_close_.reset();
      return;
    }
    if (!who_) {
      const int s = d_.config.ws_auth_s;
      ws_->close_after(
          std::chrono::seconds(s), 1008,
          "sign in within " + std::to_string(s) + " s: send {\"type\":\"auth\",\"token\":...}");
    }
  }

  void on_message(const std::string& text) {
    auto parsed = chat::parse_socket_frame(text);
    // Before sign-in only the frames that sign in are read: nothing else is
    // answered for a caller the server does not know.
    if (!signed_in()) {
      using T = chat::SocketFrame::Type;
      if (!parsed.is_ok() && parsed.status().code() == Code::unauthenticated)
        return refuse(parsed.status());
      if (!parsed.is_ok() || (parsed->type != T::auth && parsed->type != T::message))
        return refuse(
            Status::unauthenticated("sign in first: send {\"type\":\"auth\",\"token\":...}"));
    }
    if (!parsed.is_ok()) return error(parsed.status());
    chat::SocketFrame frame = std::move(parsed).value();
    // Pings and cancels keep no socket from being idle; sign-ins and turns do.
    if (frame.type == chat::SocketFrame::Type::auth ||
        frame.type == chat::SocketFrame::Type::message)
      mark_active();
    switch (frame.type) {
      case chat::SocketFrame::Type::ping:
        send({{"type", "pong"}});
        return;
      case chat::SocketFrame::Type::cancel: {
        MutexLock lock(mu_);
        if (turn_) turn_->cancel();  // a cancel after the turn ended has nothing to stop
        return;
      }
      case chat::SocketFrame::Type::auth:
        return authenticate(frame.token);
      case chat::SocketFrame::Type::message:
        return start_turn(std::move(frame));
    }
  }

  void on_close() {
    MutexLock lock(mu_);
    closed_ = true;
    if (turn_) turn_->cancel();
    slot_.reset();
    ws_.reset();
    release_unsigned_locked();
  }

 private:
  bool signed_in() {
    MutexLock lock(mu_);
    return who_.has_value();
  }
  void mark_active() {
    MutexLock lock(mu_);
    if (ws_) ws_->mark_active();
  }
  void refuse(const Status& st) {
    MutexLock lock(mu_);
    refuse_locked(st);
  }
  void release_unsigned_locked() REQUIRES(mu_) {
    if (!counted_unsigned_) return;
    counted_unsigned_ = false;
    unsigned_->give_back(client_ip_);
  }

  Status sign_in_locked(Identity who) REQUIRES(mu_) {
    ATELIER_ASSIGN_OR_RETURN(slot_, cap_->take(who.id));
    who_ = std::move(who);
    release_unsigned_locked();
    if (ws_) ws_->keep_open();
    ordered_json models = ordered_json::array();
    for (const auto& m : svc_.models()) models.push_back(m.name);
    send_locked({{"type", "ready"}, {"models", models}, {"anonymous", who_->anonymous()}});
    return Status::ok();
  }

  void authenticate(const std::string& token) {
    MutexLock lock(mu_);
    if (who_) return error_locked(Status::invalid_argument("this socket is already signed in"), "");
    // API keys and JWTs both travel as bearer tokens.
    auto id = d_.auth.authenticate("Bearer " + token, "", client_ip_);
    if (!id.is_ok()) return refuse_locked(id.status());
    if (Status st = sign_in_locked(std::move(id).value()); !st.is_ok()) refuse_locked(st);
  }

  void start_turn(chat::SocketFrame frame) {
    MutexLock lock(mu_);
    if (closed_) return;
    if (!who_) {
      // No credentials yet: the socket is anonymous, where that is allowed.
      auto id = d_.auth.authenticate("", "", client_ip_);
      if (!id.is_ok())
        return refuse_locked(Status::unauthenticated(
            "sign in first: send {\"type\":\"auth\",\"token\":...} or connect with credentials"));
      if (Status st = sign_in_locked(std::move(id).value()); !st.is_ok()) return refuse_locked(st);
    }
    if (turn_) {
      return error_locked(
          Status::already_exists("a turn is running: wait for its 'done' or send a cancel"), "");
    }
    chat::TurnRequest r = turn_request(std::move(frame));
    r.owner = who_->id;
    if (!r.conversation_id.empty() && who_->anonymous())
      return error_locked(Status::unauthenticated("conversations belong to a user or key: sign in"),
                          "");
    if (r.conversation_id.empty()) {
      // This socket's own turns are the history.
      std::vector<chat::Message> all = history_;
      all.insert(all.end(), r.messages.begin(), r.messages.end());
      r.messages = std::move(all);
    }
    // A turn is metered as a request is: the rate limits, then the route's
    // message cost from the daily quota.
    http::MessageCharge metered = meter_(*who_);
    if (!metered.charge) {
      retry_after_ = metered.retry_after_s;
      return error_locked(metered.refused, "");
    }

    auto turn = std::make_shared<CancelSource>();
    turn_ = turn;
    WorkContext work;
    work.deadline = Deadline::after(std::chrono::seconds(d_.config.request_timeout_s));
    work.cancel = turn->token();
    const std::string id = "chatcmpl-" + random_id("").substr(0, 24);
    WorkerPool& pool = d_.outbound_pool    ? *d_.outbound_pool
                       : d_.inference_pool ? *d_.inference_pool
                                           : d_.pool;
    const Metered who{*who_, std::move(metered.charge)};
    lock.unlock();
    Status submitted = pool.submit(work, [self = shared_from_this(), r = std::move(r), work, id,
                                          who](const Status& pre, SteadyClock::duration) mutable {
      self->run_turn(std::move(r), work, id, who, pre);
    });
    if (!submitted.is_ok()) {
      refund(who);
      finish_turn();
      error(submitted, id);
    }
  }

  static chat::TurnRequest turn_request(chat::SocketFrame frame) {
    chat::TurnRequest r;
    r.messages.push_back({0, "user", std::move(frame.content), "[]", 0});
    if (!frame.model.empty()) r.model = std::move(frame.model);
    r.conversation_id = std::move(frame.conversation_id);
    r.collections = std::move(frame.collections);
    return r;
  }

  // Who a turn is charged to, and its charge.
  struct Metered {
    Identity identity;
    std::shared_ptr<Charge> charge;
  };
  static void refund(const Metered& who) { who.charge->refund(); }

  // On the inference pool.
  void run_turn(chat::TurnRequest r, const WorkContext& work, const std::string& id,
                const Metered& who, const Status& pre) {
    const auto started = std::chrono::steady_clock::now();
    const std::string engine = svc_.kind_of(r.model);
    const std::string model = r.model;
    if (!pre.is_ok()) {
      refund(who);
      finish_turn();
      if (pre.code() == Code::cancelled) return done(id, model, "cancelled", 0, 0, {}, "");
      return error(pre, id);
    }
    std::string delivered;
    double ttft_ms = 0;
    bool sent_sources = false;
    auto deliver = [&](std::string_view piece) {
      if (work.cancel.cancelled()) return false;
      if (ttft_ms == 0) ttft_ms = ms_since(started);
      delivered += piece;
      return send({{"type", "delta"}, {"turn", id}, {"content", std::string(piece)}});
    };
    if (engine != "local") {
      r.on_sources = [&](const std::vector<chat::Retrieved>& s) {
        sent_sources = true;
        send({{"type", "sources"}, {"turn", id}, {"sources", sources_json(s)}});
      };
      r.on_delta = deliver;
    }
    const std::string conversation = r.conversation_id;
    auto replied = svc_.reply(r, caller_of(who.identity), work);
    if (!replied.is_ok()) {
      const bool cancelled = work.cancel.cancelled();
      observe_(engine, cancelled ? "cancelled" : "failed", ttft_ms / 1000.0,
               ms_since(started) / 1000.0, 0);
      charge(who, delivered);
      if (delivered.empty() && !cancelled) refund(who);
      finish_turn();
      if (cancelled) return done(id, model, "cancelled", 0, estimated(delivered), {}, conversation);
      return error(replied.status(), id);
    }
    auto turn = std::move(replied).value();
    if (engine == "local") {
      send({{"type", "sources"}, {"turn", id}, {"sources", sources_json(turn.sources)}});
      for (const auto& piece : answer_pieces(turn.text))
        if (!deliver(piece)) break;
    } else if (!sent_sources) {
      send({{"type", "sources"}, {"turn", id}, {"sources", sources_json(turn.sources)}});
    }
    const bool cancelled = work.cancel.cancelled();
    const std::size_t completion = cancelled ? estimated(delivered) : turn.completion_tokens;
    observe_(engine,
             cancelled    ? "cancelled"
             : turn.found ? "answered"
                          : "nothing_found",
             ttft_ms / 1000.0, ms_since(started) / 1000.0, completion);
    charge(who, delivered);
    if (!cancelled && conversation.empty()) {
      MutexLock lock(mu_);
      history_.push_back(r.messages.back());
      history_.push_back({0, "assistant", turn.text, "[]", 0});
      // Bounded: the engine sees only the newest turns within its budget anyway.
      if (history_.size() > 200) history_.erase(history_.begin(), history_.begin() + 2);
    }
    finish_turn();
    ordered_json timings = {{"retrieval_ms", json::round3(turn.rag.retrieval_ms)},
                            {"compose_ms", json::round3(turn.rag.compose_ms)},
                            {"first_token_ms", json::round3(ttft_ms)},
                            {"total_ms", json::round3(ms_since(started))}};
    done(id, model, cancelled ? "cancelled" : "stop", turn.prompt_tokens, completion,
         std::move(timings), conversation);
  }

  static std::size_t estimated(const std::string& text) {
    return text.empty() ? 0 : chat::estimated_tokens(text);
  }
  // The delivered answer's tokens, when they are charged.
  void charge(const Metered& who, const std::string& delivered) const {
    who.charge->settle(token_units(estimated(delivered), d_.config.chat_tokens_per_unit));
  }

  // The next message may start a turn (before 'done' goes out, so a client
  // that answers 'done' at once is not refused).
  void finish_turn() {
    MutexLock lock(mu_);
    turn_.reset();
  }

  void done(const std::string& id, const std::string& model, const char* reason, std::size_t prompt,
            std::size_t completion, ordered_json timings, const std::string& conversation) {
    mark_active();  // a turn that ended is activity, however long it ran
    ordered_json j = {{"type", "done"}, {"turn", id}, {"finish_reason", reason}, {"model", model}};
    if (!conversation.empty()) j["conversation_id"] = conversation;
    j["usage"] = {{"prompt_tokens", prompt},
                  {"completion_tokens", completion},
                  {"total_tokens", prompt + completion}};
    j["timings"] = timings.is_null() ? ordered_json::object() : std::move(timings);
    send(j);
  }

  bool send(const ordered_json& j) {
    MutexLock lock(mu_);
    return send_locked(j);
  }
  // Before attach() the frame waits (a few at most: what the frames read
  // before the upgrade returned answered).
  bool send_locked(const ordered_json& j) REQUIRES(mu_) {
    if (ws_) return ws_->send(j.dump());
    if (closed_ || pending_.size() >= 16) return false;
    pending_.push_back(j.dump());
    return true;
  }

  void error(const Status& st, const std::string& turn = "") {
    MutexLock lock(mu_);
    error_locked(st, turn);
  }
  void error_locked(const Status& st, const std::string& turn) REQUIRES(mu_) {
    ordered_json j = {{"type", "error"}};
    if (!turn.empty()) j["turn"] = turn;
    j["status"] = http::http_status(st.code());
    j["code"] = std::string(code_name(st.code()));
    j["message"] = cut_utf8(st.message(), 1024);
    if (st.code() == Code::resource_exhausted || st.code() == Code::unavailable)
      j["retry_after"] = retry_after_ > 0 ? retry_after_ : 1;
    send_locked(j);
  }
  // An error that ends the socket: 1008 (policy) for credentials, 1013 (try
  // again later) for limits and for limits that cannot be counted now.
  void refuse_locked(const Status& st) REQUIRES(mu_) {
    error_locked(st, "");
    const bool later = st.code() == Code::resource_exhausted || st.code() == Code::unavailable;
    if (ws_)
      ws_->close(later ? 1013 : 1008, st.message());
    else if (!closed_)
      pending_close_ = std::make_pair(later ? 1013 : 1008, st.message());
  }

  ApiDeps& d_;
  chat::ChatService& svc_;
  const ChatObserver observe_;
  const std::shared_ptr<chat::StreamCap> cap_;
  const std::string client_ip_;
  const std::shared_ptr<UnsignedSockets> unsigned_;
  Mutex mu_;
  bool counted_unsigned_ GUARDED_BY(mu_) = false;     // holds an unsigned place
  std::vector<std::string> pending_ GUARDED_BY(mu_);  // frames sent before attach()
  std::optional<std::pair<int, std::string>> pending_close_ GUARDED_BY(mu_);  // likewise
  std::shared_ptr<http::WebSocket> ws_ GUARDED_BY(mu_);                       // null once closed
  std::optional<Identity> who_ GUARDED_BY(mu_);
  std::unique_ptr<chat::StreamCap::Slot> slot_ GUARDED_BY(mu_);
  std::shared_ptr<CancelSource> turn_ GUARDED_BY(mu_);  // the running turn
  std::vector<chat::Message> history_ GUARDED_BY(mu_);
  const http::MessageMeter meter_;
  std::int64_t retry_after_ GUARDED_BY(mu_) = 0;  // of the last refusal
  bool closed_ GUARDED_BY(mu_) = false;
};

}  // namespace

namespace {

// The handlers of add_chat_socket_route(), named after their routes' operation ids,
// over what they need.
struct ChatSocketHandlers {
  ApiDeps& d;
  chat::ChatService& svc;
  const ChatObserver observe;
  const std::shared_ptr<chat::StreamCap> cap;
  const std::shared_ptr<UnsignedSockets> unsigned_sockets;

  Result<http::Response> handle_chat_socket(const http::RequestContext& ctx) const;
};

Result<http::Response> ChatSocketHandlers::handle_chat_socket(
    const http::RequestContext& ctx) const {
  if (ctx.upgrade && !ctx.meter_message)
    return Status::internal("the chat socket route is not metered");
  if (!ctx.upgrade) {
    http::Response r =
        http::problem(426, "this endpoint speaks WebSocket: send a handshake", ctx.request_id);
    r.set_header("Upgrade", "websocket");
    return r;
  }
  const auto authz = ctx.req.header("Authorization");
  const auto key = ctx.req.header("X-API-Key");
  std::optional<Identity> who;
  if (!authz.empty() || !key.empty()) {
    auto id = d.auth.authenticate(authz, key, ctx.req.client_ip);
    if (!id.is_ok()) return id.status();
    who = std::move(id).value();
  } else if (!unsigned_sockets->take(ctx.req.client_ip)) {
    http::Response r =
        http::problem(429,
                      "too many WebSockets from this address are waiting to sign in (at most " +
                          std::to_string(d.config.ws_unsigned_per_ip) + ")",
                      ctx.request_id);
    r.set_header("Retry-After", std::to_string(d.config.ws_auth_s));
    return r;
  }
  // Signed in (or counted) before the upgrade: once upgraded, frames may
  // be read on another network thread before attach() runs.
  auto socket = std::make_shared<ChatSocket>(d, svc, observe, cap, ctx.req.client_ip,
                                             unsigned_sockets, !who.has_value(), ctx.meter_message);
  if (who) socket->sign_in(std::move(*who));
  auto ws = ctx.upgrade({}, {[socket](const std::string& text) { socket->on_message(text); },
                             [socket](int) { socket->on_close(); }});
  if (!ws) {
    socket->on_close();  // gives back what it holds
    return Status::unavailable("the connection could not be upgraded");
  }
  socket->attach(ws);
  return http::Response::upgraded();
}

}  // namespace

void add_chat_socket_route(http::Router& router, ApiDeps& d, chat::ChatService& svc,
                           ChatObserver observe, std::shared_ptr<chat::StreamCap> cap) {
  auto unsigned_sockets = std::make_shared<UnsignedSockets>(d.config.ws_unsigned_per_ip);
  const auto h = std::make_shared<const ChatSocketHandlers>(
      ChatSocketHandlers{d, svc, std::move(observe), std::move(cap), unsigned_sockets});
  router.add({
      .method = http::Method::get,
      .path = "/v1/chat/ws",
      .operation_id = "chat_socket",
      .summary = "Chat over a WebSocket: send {type: message, content} frames, receive sources, "
                 "delta and done frames; {type: cancel} stops a turn and keeps the socket. "
                 "Credentials in the handshake's headers, or (browsers) a first frame {type: "
                 "auth, token}",
      .tag = "chat",
      // Credentials may come in the first frame (browsers cannot set headers
      // on a WebSocket), so the handshake is checked here, not by the pipeline.
      .access = http::Access::open,
      .rate_limited = true,
      .message_cost = 1,
      .response_maps = {"timings"},  // a cancelled turn's done frame has none
      .socket_frames = nlohmann::json::parse(R"({"client": [
        {"type": "auth", "token": "atl_..."},
        {"type": "message", "content": "What is chintz?", "model": "local",
         "conversation_id": "cv_5e0c9a7d2b1f4e3a", "collections": ["fabrics"]},
        {"type": "cancel"}, {"type": "ping"}],
       "server": [
        {"type": "ready", "models": ["local"], "anonymous": false},
        {"type": "sources", "turn": "chatcmpl-513d6db0b095b4ad83c894d6", "sources": [{"n": 1,
         "id": "wn30-n-03019938", "collection": "style-glossary", "title": "chintz",
         "snippet": "chintz: a brightly printed and glazed cotton fabric [a kind of fabric]",
         "score": 0.183, "bm25_rank": 1, "vector_rank": 1}]},
        {"type": "delta", "turn": "chatcmpl-513d6db0b095b4ad83c894d6",
         "content": "chintz: a brightly printed "},
        {"type": "done", "turn": "chatcmpl-513d6db0b095b4ad83c894d6", "finish_reason": "stop",
         "model": "local", "conversation_id": "cv_5e0c9a7d2b1f4e3a",
         "usage": {"prompt_tokens": 4, "completion_tokens": 14, "total_tokens": 18},
         "timings": {"retrieval_ms": 1.484, "compose_ms": 0.012, "first_token_ms": 1.626,
                     "total_ms": 1.638}},
        {"type": "error", "turn": "chatcmpl-513d6db0b095b4ad83c894d6", "status": 429,
         "code": "resource_exhausted", "message": "daily quota exceeded", "retry_after": 30},
        {"type": "pong"}]})"),
      .socket_optional = {"model", "conversation_id", "collections", "turn", "retry_after"},
      .response_content_type = "",
      .success_status = 101,
      .errors = {401, 426, 429},
      .handler = http::bind_handler(h, &ChatSocketHandlers::handle_chat_socket),
  });
}

}  // namespace atelier::api
