// Outbound HTTP for hosted engines and image URLs, on libcurl. Every call is
// bounded: a total timeout, a response size cap, the caller's deadline and
// cancellation (checked while the transfer runs). No redirects are followed:
// a redirect could lead a checked URL somewhere unchecked.
//
// Thread safety: fetch() may be called concurrently (one easy handle per call).
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"

namespace atelier::net {

struct OutboundRequest {
  std::string method = "GET";
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{30000};
  std::size_t max_response_bytes = 32u << 20;
  // "host:port:address" entries pinning DNS (curl's CURLOPT_RESOLVE): the
  // address checked is the address connected to.
  std::vector<std::string> pinned;
  // Streamed bodies (server-sent events): each piece of the body as it
  // arrives goes here instead of into OutboundResponse::body; returning false
  // aborts the transfer (the connection is closed: the caller went away).
  std::function<bool(std::string_view)> on_body;
  // A transfer that receives nothing for this long is abandoned
  // (deadline_exceeded); zero: only `timeout` bounds it.
  std::chrono::milliseconds idle_timeout{0};
  // Called from the transfer's thread when nothing has arrived for
  // `wait_tick` (and again every `wait_tick` after): keep-alives downstream.
  std::function<void()> on_wait;
  std::chrono::milliseconds wait_tick{15000};
};

struct OutboundResponse {
  int status = 0;
  std::string content_type;
  std::string body;
};

// unavailable for connection failures, deadline_exceeded for timeouts,
// payload_too_large when the response passes the cap, cancelled when the
// caller went away. HTTP error statuses are returned, not turned into errors.
Result<OutboundResponse> fetch(const OutboundRequest& req, const WorkContext& work);

// Once per process, before threads start (curl_global_init is not thread-safe).
void global_init();

// ---- SSRF-safe URL fetching for user-supplied image URLs ----

struct UrlPolicy {
  std::vector<std::string>
      allowed_hosts;           // exact host names or "*.example.com"; empty: nothing allowed
  bool allow_private = false;  // loopback, private, link-local, CGNAT, multicast (tests only)
  std::chrono::milliseconds timeout{10000};
  std::size_t max_bytes = 20u << 20;
};

// Checks scheme (http/https), host against the allowlist, resolves the host
// once, refuses non-public addresses unless allowed, and fetches from exactly
// the address it checked. invalid_argument / permission_denied say why.
Result<OutboundResponse> fetch_url(const std::string& url, const UrlPolicy& policy,
                                   const WorkContext& work);

// True for addresses a server must not be tricked into calling.
bool is_non_public_address(const std::string& numeric_address);

}  // namespace atelier::net
