// Reads the raw request stream of one connection ahead of the HTTP library,
// so that malformed or oversized requests get a status line and a problem
// body instead of a silently closed connection (RESTinio closes on any parse
// error), and so that the server knows which connections are part-way
// through reading a request (a drain lets those finish).
//
// How: an http_parser of its own sees every byte first. Bytes of a request
// head are held back until the head is complete and within limits; bodies
// stream through. When a request is refused, the bytes before it (earlier
// pipelined requests) are released, then a synthetic request carrying the
// verdict (marked with a per-process secret header) takes its place, so the
// answer goes out in order after the earlier responses.
//
// Thread safety: one WireGuard per connection, used from that connection's
// executor only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace atelier::http {

struct WireLimits {
  std::size_t max_url_bytes = 16 * 1024;     // 414 beyond
  std::size_t max_header_bytes = 64 * 1024;  // all header lines together; 431 beyond
  std::size_t max_header_count = 256;        // 431 beyond
  std::uint64_t max_body_bytes = 40u << 20;  // declared Content-Length; 413 beyond
  // After a WebSocket upgrade: a frame declaring a longer payload cuts the
  // connection before the library sizes a buffer for it.
  std::uint64_t max_ws_frame_bytes = 1u << 20;
};

struct WireVerdict {
  int status = 0;  // 400, 413, 414, 431, 501, 505
  std::string detail;
};

class WireGuard {
 public:
  explicit WireGuard(const WireLimits& limits);
  ~WireGuard();
  WireGuard(const WireGuard&) = delete;
  WireGuard& operator=(const WireGuard&) = delete;

  // Feeds bytes read from the socket; appends to `out` the bytes that may go
  // to the HTTP library now. After a refusal, `out` ends with the synthetic
  // request and refused() is set; feed nothing more.
  void feed(std::string_view bytes, std::string* out);

  bool refused() const { return verdict_.has_value(); }
  const std::optional<WireVerdict>& verdict() const { return verdict_; }
  // A request has begun arriving and is not complete yet.
  bool mid_request() const { return mid_request_; }
  // The connection switched protocols (a WebSocket upgrade): from here on
  // bytes pass, and only the frames' declared lengths are checked.
  bool upgraded() const { return upgraded_; }
  // A WebSocket frame declared more than max_ws_frame_bytes: the connection
  // is to be dropped; feed nothing more.
  bool cut() const { return cut_; }

  // The header that marks a synthetic request, and the value's parser:
  // returns the verdict when `value` carries this process's secret.
  static std::string_view marker_header();
  static std::optional<WireVerdict> parse_marker(std::string_view value);

 private:
  struct Parser;
  void refuse(int status, std::string detail, std::string* out);
  void meter_frames(std::string_view bytes, std::string* out);

  WireLimits limits_;
  std::unique_ptr<Parser> p_;
  std::string held_;  // bytes of a request head not released yet
  bool in_body_ = false;
  bool mid_request_ = false;
  bool upgraded_ = false;
  bool cut_ = false;
  std::optional<WireVerdict> verdict_;
  // The WebSocket frame being read: its header so far, then its payload.
  std::array<std::uint8_t, 14> frame_head_{};
  std::size_t frame_have_ = 0;
  std::size_t frame_need_ = 2;
  std::uint64_t payload_left_ = 0;
};

}  // namespace atelier::http
