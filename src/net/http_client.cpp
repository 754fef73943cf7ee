#include "net/http_client.h"

#include "net/curl_handles.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>

#include <cstring>
#include <memory>

namespace atelier::net {

namespace {

struct UrlDeleter {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};
struct CurlStrDeleter {
  void operator()(char* p) const { curl_free(p); }
};
struct AddrDeleter {
  void operator()(addrinfo* a) const { freeaddrinfo(a); }
};

struct Transfer {
  std::string body;
  std::size_t max = 0;
  bool too_large = false;
  const WorkContext* work = nullptr;
  CURL* handle = nullptr;
  const std::function<bool(std::string_view)>* stream = nullptr;  // null: gather the body
  std::size_t received = 0;
  bool stopped = false;  // the stream's consumer said stop
  std::chrono::milliseconds idle{0};
  std::chrono::steady_clock::time_point last_data = std::chrono::steady_clock::now();
  bool idle_expired = false;
  const std::function<void()>* on_wait = nullptr;
  std::chrono::milliseconds wait_tick{0};
  std::chrono::steady_clock::time_point last_tick = std::chrono::steady_clock::now();
  // A streamed body goes to the consumer only with a 2xx status; an error's
  // body is gathered for its message.
  bool status_known() const {
    long code = 0;
    curl_easy_getinfo(handle, CURLINFO_RESPONSE_CODE, &code);
    return code >= 200 && code < 300;
  }
};

std::size_t on_data(char* p, std::size_t size, std::size_t n, void* self) {
  auto* t = static_cast<Transfer*>(self);
  t->received += size * n;
  t->last_data = std::chrono::steady_clock::now();
  if (t->stream && t->status_known()) {
    if (t->received > t->max) {
      t->too_large = true;
      return 0;
    }
    if (!(*t->stream)(std::string_view(p, size * n))) {
      t->stopped = true;
      return 0;  // aborts the transfer: the consumer has gone
    }
    return size * n;
  }
  if (t->body.size() + size * n > t->max) {
    t->too_large = true;
    return 0;  // aborts the transfer
  }
  t->body.append(p, size * n);
  return size * n;
}

int on_progress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(self);
  // Called about every second while idle, more often while data flows.
  const auto now = std::chrono::steady_clock::now();
  if (t->on_wait && now - std::max(t->last_data, t->last_tick) >= t->wait_tick) {
    t->last_tick = now;
    (*t->on_wait)();
  }
  if (t->idle.count() > 0 && now - t->last_data > t->idle) {
    t->idle_expired = true;
    return 1;
  }
  return t->work->check().is_ok() ? 0 : 1;
}

// curl_easy_perform, but the caller's cancellation is seen within 50 ms:
// curl's progress callback runs only about once a second while a transfer
// is idle (a hosted model thinking before its first token).
CURLcode perform(CURL* h, const WorkContext& work) {
  std::unique_ptr<CURLM, MultiDeleter> m(curl_multi_init());
  if (!m) return curl_easy_perform(h);
  curl_multi_add_handle(m.get(), h);
  CURLcode rc = CURLE_OK;
  for (int running = 1;;) {
    if (curl_multi_perform(m.get(), &running) != CURLM_OK) {
      rc = CURLE_FAILED_INIT;
      break;
    }
    if (running == 0) {
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(m.get(), &left))
        if (msg->msg == CURLMSG_DONE) rc = msg->data.result;
      break;
    }
    if (!work.check().is_ok()) {
      rc = CURLE_ABORTED_BY_CALLBACK;  // closes the connection with the handle
      break;
    }
    curl_multi_poll(m.get(), nullptr, 0, 50, nullptr);
  }
  curl_multi_remove_handle(m.get(), h);
  return rc;
}

}  // namespace

void global_init() {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

namespace {

// The easy handle set up for `req`: the method and body, the headers and
// pinned addresses, no redirects, the timeouts, and `t` as the sink.
void configure(CURL* h, const OutboundRequest& req, std::chrono::milliseconds timeout,
               const curl_slist* headers, const curl_slist* pins, Transfer& t) {
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(std::min<long long>(timeout.count(), 10000)));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "atelier/" ATELIER_VERSION);
  if (headers) curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  if (pins) curl_easy_setopt(h, CURLOPT_RESOLVE, pins);
  if (req.method == "POST") {
    curl_easy_setopt(h, CURLOPT_POST, 1L);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
  } else if (req.method != "GET") {
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method.c_str());
    if (!req.body.empty()) {
      curl_easy_setopt(h, CURLOPT_POSTFIELDS, req.body.data());
      curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    }
  }
}

// Why a transfer ended without a response, or ok.
Status transfer_status(CURLcode rc, const Transfer& t, const OutboundRequest& req,
                       std::chrono::milliseconds timeout, const WorkContext& work) {
  if (t.too_large) {
    return Status::payload_too_large("the response from " + req.url + " is larger than " +
                                     std::to_string(req.max_response_bytes) + " bytes");
  }
  if (t.stopped) return Status::cancelled("the stream's reader went away");
  if (t.idle_expired)
    return Status::deadline_exceeded(req.url + " sent nothing for " +
                                     std::to_string(req.idle_timeout.count()) + " ms");
  if (rc == CURLE_ABORTED_BY_CALLBACK) {
    Status s = work.check();
    return s.is_ok() ? Status::cancelled("outbound call aborted") : s;
  }
  if (rc == CURLE_OPERATION_TIMEDOUT) {
    return Status::deadline_exceeded("no answer from " + req.url + " within " +
                                     std::to_string(timeout.count()) + " ms");
  }
  if (rc != CURLE_OK)
    return Status::unavailable(std::string("cannot reach ") + req.url + ": " +
                               curl_easy_strerror(rc));
  return Status::ok();
}

}  // namespace

Result<OutboundResponse> fetch(const OutboundRequest& req, const WorkContext& work) {
  std::unique_ptr<CURL, EasyDeleter> c(curl_easy_init());
  if (!c) return Status::internal("curl_easy_init failed");
  Transfer t;
  t.max = req.max_response_bytes;
  t.work = &work;
  auto timeout = req.timeout;
  if (work.deadline.at != SteadyClock::time_point::max())
    timeout = std::min(timeout, work.deadline.remaining());
  if (timeout.count() <= 0) return Status::deadline_exceeded("no time left for the outbound call");

  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const auto& [k, v] : req.headers) {
    headers.reset(
        curl_slist_append(headers.release(), std::string(k).append(": ").append(v).c_str()));
  }
  std::unique_ptr<curl_slist, SlistDeleter> pins;
  for (const auto& p : req.pinned) pins.reset(curl_slist_append(pins.release(), p.c_str()));

  CURL* h = c.get();
  t.handle = h;
  if (req.on_body) t.stream = &req.on_body;
  t.idle = req.idle_timeout;  // no byte for this long: a hanging stream
  if (req.on_wait) {
    t.on_wait = &req.on_wait;
    t.wait_tick = req.wait_tick;
  }
  configure(h, req, timeout, headers.get(), pins.get(), t);
  const CURLcode rc = perform(h, work);
  ATELIER_RETURN_IF_ERROR(transfer_status(rc, t, req, timeout, work));
  OutboundResponse out;
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  out.status = static_cast<int>(status);
  char* ct = nullptr;
  curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
  if (ct) out.content_type = ct;
  out.body = std::move(t.body);
  return out;
}

bool is_non_public_address(const std::string& a) {
  in6_addr v6{};
  in_addr v4{};
  if (inet_pton(AF_INET, a.c_str(), &v4) == 1) {
    const std::uint32_t ip = ntohl(v4.s_addr);
    auto in = [ip](std::uint32_t net, int bits) {
      return (ip >> (32 - bits)) == (net >> (32 - bits));
    };
    return in(0x00000000, 8) || in(0x0a000000, 8) || in(0x7f000000, 8) || in(0xa9fe0000, 16) ||
           in(0xac100000, 12) || in(0xc0a80000, 16) || in(0x64400000, 10) || in(0xc0000000, 24) ||
           in(0xc6120000, 15) || ip >= 0xe0000000;  // multicast, reserved, broadcast
  }
  if (inet_pton(AF_INET6, a.c_str(), &v6) == 1) {
    const unsigned char* b = v6.s6_addr;
    static const unsigned char zero[16] = {};
    if (std::memcmp(b, zero, 15) == 0 && (b[15] == 0 || b[15] == 1)) return true;  // :: and ::1
    if ((b[0] & 0xfe) == 0xfc) return true;                  // fc00::/7 unique local
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return true;  // fe80::/10 link-local
    if (b[0] == 0xff) return true;                           // multicast
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(b, mapped, 12) == 0) {  // ::ffff:a.b.c.d: judge the IPv4 address
      char buf[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, b + 12, buf, sizeof buf);
      return is_non_public_address(buf);
    }
    return false;
  }
  return true;  // not an address at all: refuse
}

namespace {

bool host_allowed(const std::string& host, const std::vector<std::string>& allowed) {
  for (const auto& a : allowed) {
    if (a == host) return true;
    if (a.size() > 2 && a.starts_with("*.") && host.size() > a.size() - 1 &&
        host.compare(host.size() - (a.size() - 1), a.size() - 1, a, 1) == 0) {
      return true;
    }
  }
  return false;
}

}  // namespace

Result<OutboundResponse> fetch_url(const std::string& url, const UrlPolicy& policy,
                                   const WorkContext& work) {
  if (policy.allowed_hosts.empty()) {
    return Status::invalid_argument(
        "fetching 'image_url' is disabled on this server; send the image bytes");
  }
  std::unique_ptr<CURLU, UrlDeleter> u(curl_url());
  if (curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) {
    return Status::invalid_argument("'image_url' is not a valid URL");
  }
  auto part = [&](CURLUPart p, unsigned flags = 0) -> std::string {
    char* v = nullptr;
    if (curl_url_get(u.get(), p, &v, flags) != CURLUE_OK || !v) return {};
    std::unique_ptr<char, CurlStrDeleter> hold(v);
    return v;
  };
  const std::string scheme = part(CURLUPART_SCHEME);
  if (scheme != "http" && scheme != "https")
    return Status::invalid_argument("'image_url' must be http or https");
  if (!part(CURLUPART_USER).empty())
    return Status::invalid_argument("'image_url' must not carry credentials");
  std::string host = part(CURLUPART_HOST);
  for (char& ch : host) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const std::string port = part(CURLUPART_PORT, CURLU_DEFAULT_PORT);
  if (!host_allowed(host, policy.allowed_hosts)) {
    return Status::permission_denied("host '" + host +
                                     "' is not on this server's image URL allowlist");
  }
  std::string lookup = host;
  if (lookup.size() > 2 && lookup.front() == '[' && lookup.back() == ']')
    lookup = lookup.substr(1, lookup.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(lookup.c_str(), port.c_str(), &hints, &res) != 0 || !res) {
    return Status::invalid_argument("cannot resolve host '" + host + "'");
  }
  std::unique_ptr<addrinfo, AddrDeleter> hold(res);
  std::string chosen;
  for (addrinfo* a = res; a; a = a->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    const void* src =
        a->ai_family == AF_INET
            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if (!inet_ntop(a->ai_family, src, buf, sizeof buf)) continue;
    // Every address the name resolves to must be public: a name that mixes
    // public and private answers is a rebinding attempt.
    if (!policy.allow_private && is_non_public_address(buf)) {
      return Status::permission_denied("host '" + host + "' resolves to a non-public address");
    }
    if (chosen.empty()) chosen = a->ai_family == AF_INET6 ? "[" + std::string(buf) + "]" : buf;
  }
  if (chosen.empty()) return Status::invalid_argument("cannot resolve host '" + host + "'");
  OutboundRequest req;
  req.url = url;
  req.timeout = policy.timeout;
  req.max_response_bytes = policy.max_bytes;
  req.pinned = {lookup + ":" + port + ":" + chosen};
  ATELIER_ASSIGN_OR_RETURN(OutboundResponse r, fetch(req, work));
  if (r.status >= 300 && r.status < 400) {
    return Status::invalid_argument("'image_url' answered a redirect (" + std::to_string(r.status) +
                                    "); redirects are not followed");
  }
  if (r.status != 200) {
    return Status::invalid_argument("'image_url' answered HTTP " + std::to_string(r.status));
  }
  return r;
}

}  // namespace atelier::net
