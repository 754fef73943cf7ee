#include "store/redis/redis.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <sys/socket.h>

#include <algorithm>
#include <charconv>
#include <thread>

#include "core/mutex.h"
#include "obs/log.h"

namespace atelier::redis {

std::int64_t Reply::as_int(std::int64_t fallback) const {
  if (type == Type::integer) return integer;
  if (type != Type::string) return fallback;
  std::int64_t v = 0;
  const auto [p, ec] = std::from_chars(str.data(), str.data() + str.size(), v);
  return ec == std::errc() && p == str.data() + str.size() ? v : fallback;
}

Script::Script(std::string src) : source(std::move(src)) {
  unsigned char d[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(source.data()), source.size(), d);
  static const char* hex = "0123456789abcdef";
  for (unsigned char c : d) {
    sha += hex[c >> 4];
    sha += hex[c & 15];
  }
}

namespace {

struct ContextDeleter {
  void operator()(redisContext* c) const { redisFree(c); }
};
using Context = std::unique_ptr<redisContext, ContextDeleter>;
struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};

struct Endpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string password;
  int db = 0;
};

Result<Endpoint> parse_url(const std::string& url) {
  constexpr std::string_view scheme = "redis://";
  if (url.rfind(scheme, 0) != 0) return Status::invalid_argument("a Redis URL starts redis://");
  std::string rest = url.substr(scheme.size());
  Endpoint e;
  if (auto at = rest.rfind('@'); at != std::string::npos) {
    std::string cred = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = cred.find(':');
    e.password = colon == std::string::npos ? cred : cred.substr(colon + 1);
  }
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    const std::string db = rest.substr(slash + 1);
    rest.resize(slash);
    if (!db.empty()) {
      const auto [p, ec] = std::from_chars(db.data(), db.data() + db.size(), e.db);
      if (ec != std::errc() || p != db.data() + db.size() || e.db < 0)
        return Status::invalid_argument("the Redis database is a number: " + url);
    }
  }
  if (auto colon = rest.rfind(':'); colon != std::string::npos) {
    const std::string port = rest.substr(colon + 1);
    rest.resize(colon);
    const auto [p, ec] = std::from_chars(port.data(), port.data() + port.size(), e.port);
    if (ec != std::errc() || p != port.data() + port.size() || e.port <= 0 || e.port > 65535)
      return Status::invalid_argument("bad Redis port in " + url);
  }
  if (!rest.empty()) e.host = rest;
  return e;
}

timeval to_timeval(std::chrono::milliseconds ms) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
  return tv;
}

Reply convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::array;
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      break;
  }
  return out;
}

// Sends one command on `c`; a null reply means the connection is broken.
std::unique_ptr<redisReply, ReplyDeleter> send(redisContext* c,
                                               const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<std::size_t> lens;
  for (const auto& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  return std::unique_ptr<redisReply, ReplyDeleter>(static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), args.data(), lens.data())));
}

class HiredisClient;

class HiredisSubscription final : public Subscription {
 public:
  HiredisSubscription(HiredisClient& client, std::string channel,
                      std::function<void(std::string)> on_message,
                      std::function<void()> on_reconnect);
  ~HiredisSubscription() override {
    stop_.store(true);
    {
      MutexLock lock(fd_mu_);
      if (const int fd = fd_.load(); fd >= 0) ::shutdown(fd, SHUT_RDWR);
    }
    if (thread_.joinable()) thread_.join();
  }

 private:
  void run();
  HiredisClient& client_;
  const std::string channel_;
  const std::function<void(std::string)> on_message_;
  const std::function<void()> on_reconnect_;
  std::atomic<bool> stop_{false};
  Mutex fd_mu_;              // held while the socket is shut down or forgotten
  std::atomic<int> fd_{-1};  // the subscribed connection's socket
  std::thread thread_;
};

class HiredisClient final : public Client {
 public:
  HiredisClient(Options opt, Endpoint ep) : opt_(std::move(opt)), ep_(std::move(ep)) {}

  Result<Reply> command(const std::vector<std::string>& argv) override {
    for (int attempt = 0;; ++attempt) {
      ATELIER_ASSIGN_OR_RETURN(Pooled p, acquire(/*fresh=*/attempt > 0));
      auto r = send(p.c.get(), argv);
      if (!r) {
        // A pooled connection can be stale (Redis restarted, or an idle
        // connection closed by the server or a proxy): one try on a fresh
        // connection before the server is called down. (Should the lost
        // reply's command have run, it runs twice: at most one extra count.)
        if (p.reused && attempt == 0) continue;
        mark_down(p.c->errstr);
        return Status::unavailable(std::string("redis: ") + p.c->errstr);
      }
      release(std::move(p));
      if (r->type == REDIS_REPLY_ERROR)
        return Status::internal("redis: " + std::string(r->str, r->len));
      return convert(r.get());
    }
  }

  Result<Reply> eval(Script& script, const std::vector<std::string>& keys,
                     const std::vector<std::string>& args) override {
    std::vector<std::string> argv = {"EVALSHA", script.sha, std::to_string(keys.size())};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = command(argv);
    if (r.is_ok() || r.status().message().find("NOSCRIPT") == std::string::npos) return r;
    argv[0] = "EVAL";
    argv[1] = script.source;
    return command(argv);
  }

  std::unique_ptr<Subscription> subscribe(std::string channel,
                                          std::function<void(std::string)> on_message,
                                          std::function<void()> on_reconnect) override {
    return std::make_unique<HiredisSubscription>(*this, std::move(channel), std::move(on_message),
                                                 std::move(on_reconnect));
  }

  bool up() const override { return up_.load(); }
  std::uint64_t failures() const override { return failures_.load(); }

  // A new connection (authenticated, database selected), or unavailable.
  Result<Context> connect(std::chrono::milliseconds timeout) {
    Context c(redisConnectWithTimeout(ep_.host.c_str(), ep_.port, to_timeval(timeout)));
    if (!c || c->err) {
      const std::string why = c ? c->errstr : "out of memory";
      mark_down(why);
      return Status::unavailable("redis unreachable at " + ep_.host + ":" +
                                 std::to_string(ep_.port) + ": " + why);
    }
    redisSetTimeout(c.get(), to_timeval(timeout));
    if (!ep_.password.empty()) {
      auto r = send(c.get(), {"AUTH", ep_.password});
      if (!r || r->type == REDIS_REPLY_ERROR) return Status::unavailable("redis: AUTH failed");
    }
    if (ep_.db != 0) {
      auto r = send(c.get(), {"SELECT", std::to_string(ep_.db)});
      if (!r || r->type == REDIS_REPLY_ERROR) return Status::unavailable("redis: SELECT failed");
    }
    mark_up();
    return c;
  }

  // While the server is marked down: the back-off left, else zero.
  bool backing_off() {
    MutexLock lock(mu_);
    return std::chrono::steady_clock::now() < down_until_;
  }
  const Options& options() const { return opt_; }

  void mark_down(const std::string& why) EXCLUDES(mu_) {
    failures_.fetch_add(1);
    MutexLock lock(mu_);
    idle_.clear();  // connections made before the failure are suspect
    ++epoch_;       // and those in use now are not pooled again
    const bool was_up = up_.exchange(false);
    backoff_ = was_up ? std::chrono::milliseconds(100)
                      : std::min(std::chrono::milliseconds(2000), backoff_ * 2);
    down_until_ = std::chrono::steady_clock::now() + backoff_;
    if (was_up) log::warn("redis unreachable", {{"error", why}, {"host", ep_.host}});
  }
  void mark_up() {
    if (!up_.exchange(true)) log::info("redis reachable", {{"host", ep_.host}});
  }

 private:
  // A connection and the epoch it was made in: one made before the server
  // was last called down is not pooled again.
  struct Pooled {
    Context c;
    std::uint64_t epoch = 0;
    bool reused = false;
  };

  Result<Pooled> acquire(bool fresh) {
    std::uint64_t epoch = 0;
    {
      MutexLock lock(mu_);
      if (!up_.load() && std::chrono::steady_clock::now() < down_until_) {
        failures_.fetch_add(1);
        return Status::unavailable("redis unreachable (retrying in " +
                                   std::to_string(backoff_.count()) + " ms)");
      }
      if (fresh) idle_.clear();  // they are as old as the stale one
      if (!idle_.empty()) {
        Pooled p = std::move(idle_.back());
        idle_.pop_back();
        p.reused = true;
        return p;
      }
      epoch = epoch_;
    }
    ATELIER_ASSIGN_OR_RETURN(Context c, connect(opt_.timeout));
    return Pooled{std::move(c), epoch, false};
  }
  void release(Pooled p) {
    MutexLock lock(mu_);
    if (p.epoch == epoch_ && idle_.size() < opt_.pool) idle_.push_back(std::move(p));
  }

  const Options opt_;
  const Endpoint ep_;
  Mutex mu_;
  std::vector<Pooled> idle_ GUARDED_BY(mu_);
  std::uint64_t epoch_ GUARDED_BY(mu_) = 0;  // mark_down() count
  std::chrono::steady_clock::time_point down_until_ GUARDED_BY(mu_){};
  std::chrono::milliseconds backoff_ GUARDED_BY(mu_){100};
  std::atomic<bool> up_{true};
  std::atomic<std::uint64_t> failures_{0};
};

HiredisSubscription::HiredisSubscription(HiredisClient& client, std::string channel,
                                         std::function<void(std::string)> on_message,
                                         std::function<void()> on_reconnect)
    : client_(client),
      channel_(std::move(channel)),
      on_message_(std::move(on_message)),
      on_reconnect_(std::move(on_reconnect)) {
  thread_ = std::thread([this] { run(); });
}

void HiredisSubscription::run() {
  bool first = true;
  while (!stop_.load()) {
    if (client_.backing_off()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      continue;
    }
    auto c = client_.connect(client_.options().timeout);
    if (!c.is_ok()) continue;
    Context ctx = std::move(c).value();
    auto r = send(ctx.get(), {"SUBSCRIBE", channel_});
    if (!r || r->type == REDIS_REPLY_ERROR) continue;
    if (!first && on_reconnect_) on_reconnect_();
    first = false;
    // Blocking reads (a quiet channel is normal); the destructor shuts the
    // socket down to wake this thread, and keep-alives notice a dead peer.
    redisSetTimeout(ctx.get(), timeval{0, 0});
    redisEnableKeepAlive(ctx.get());
    fd_.store(ctx->fd);
    if (stop_.load()) break;
    while (!stop_.load()) {
      void* raw = nullptr;
      if (redisGetReply(ctx.get(), &raw) != REDIS_OK) {
        if (!stop_.load()) client_.mark_down(ctx->errstr);
        break;
      }
      std::unique_ptr<redisReply, ReplyDeleter> msg(static_cast<redisReply*>(raw));
      if (msg->type == REDIS_REPLY_ARRAY && msg->elements == 3 &&
          msg->element[0]->type == REDIS_REPLY_STRING &&
          std::string_view(msg->element[0]->str, msg->element[0]->len) == "message") {
        on_message_(std::string(msg->element[2]->str, msg->element[2]->len));
      }
    }
    MutexLock lock(fd_mu_);
    fd_.store(-1);
  }
}

}  // namespace

Result<std::unique_ptr<Client>> Client::create(Options opt) {
  ATELIER_ASSIGN_OR_RETURN(Endpoint ep, parse_url(opt.url));
  return std::unique_ptr<Client>(std::make_unique<HiredisClient>(std::move(opt), std::move(ep)));
}

}  // namespace atelier::redis
