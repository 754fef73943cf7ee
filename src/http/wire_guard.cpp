#include "http/wire_guard.h"

#include <http_parser.h>

#include <algorithm>
#include <random>

namespace atelier::http {
namespace {

enum class Event { none, headers_complete, message_complete };

const std::string& process_secret() {
  // Fixed for the life of the process; unguessable, so a client cannot send
  // a request that passes for a refusal verdict.
  static const std::string secret = [] {
    std::random_device rd;
    std::string s;
    const char* hex = "0123456789abcdef";
    for (int i = 0; i < 32; ++i) s += hex[rd() % 16];
    return s;
  }();
  return secret;
}

std::string_view reason_for(int status) {
  switch (status) {
    case 413:
      return "the declared body is larger than the server accepts";
    case 414:
      return "the request target is longer than the server accepts";
    case 431:
      return "the request headers are larger than the server accepts";
    case 501:
      return "the request method is not implemented";
    case 505:
      return "only HTTP/1.0 and HTTP/1.1 are spoken here";
    default:
      return "the request is not valid HTTP/1.1";
  }
}

}  // namespace

struct WireGuard::Parser {
  http_parser parser{};
  http_parser_settings settings{};
  const WireLimits* limits = nullptr;
  Event event = Event::none;
  std::size_t url_bytes = 0, header_bytes = 0, header_count = 0;
  bool in_value = false;
  int refuse_status = 0;  // set by a callback that stops the parser

  static Parser& of(http_parser* p) { return *static_cast<Parser*>(p->data); }

  Parser() {
    http_parser_init(&parser, HTTP_REQUEST);
    parser.data = this;
    http_parser_settings_init(&settings);
    settings.on_message_begin = [](http_parser* p) {
      auto& self = of(p);
      self.url_bytes = self.header_bytes = self.header_count = 0;
      self.in_value = false;
      return 0;
    };
    settings.on_url = [](http_parser* p, const char*, std::size_t n) {
      auto& self = of(p);
      self.url_bytes += n;
      if (self.url_bytes > self.limits->max_url_bytes) return self.stop(414);
      return 0;
    };
    settings.on_header_field = [](http_parser* p, const char*, std::size_t n) {
      auto& self = of(p);
      if (self.in_value || self.header_count == 0) {
        self.in_value = false;
        if (++self.header_count > self.limits->max_header_count) return self.stop(431);
      }
      self.header_bytes += n;
      if (self.header_bytes > self.limits->max_header_bytes) return self.stop(431);
      return 0;
    };
    settings.on_header_value = [](http_parser* p, const char*, std::size_t n) {
      auto& self = of(p);
      self.in_value = true;
      self.header_bytes += n;
      if (self.header_bytes > self.limits->max_header_bytes) return self.stop(431);
      return 0;
    };
    settings.on_headers_complete = [](http_parser* p) {
      auto& self = of(p);
      if ((p->flags & F_CONTENTLENGTH) && p->content_length != ULLONG_MAX &&
          p->content_length > self.limits->max_body_bytes) {
        return self.stop(413);
      }
      // A chunked body is held with its head until the message is complete:
      // a malformed chunk (a size of 2^64 - 1, say) is then refused with a
      // status line, since nothing of its request has reached the server.
      // (The server reads whole bodies before handling them anyway.)
      if (p->flags & F_CHUNKED) return 0;
      self.event = Event::headers_complete;
      http_parser_pause(p, 1);
      return 0;
    };
    settings.on_message_complete = [](http_parser* p) {
      of(p).event = Event::message_complete;
      http_parser_pause(p, 1);
      return 0;
    };
  }
  // -1, not 1: from on_headers_complete, 1 means "no body", not "stop".
  int stop(int status) {
    refuse_status = status;
    return -1;
  }
};

WireGuard::WireGuard(const WireLimits& limits) : limits_(limits), p_(std::make_unique<Parser>()) {
  p_->limits = &limits_;
}
WireGuard::~WireGuard() = default;

std::string_view WireGuard::marker_header() {
  return "X-Atelier-Wire-Verdict";
}

std::optional<WireVerdict> WireGuard::parse_marker(std::string_view value) {
  const std::string& secret = process_secret();
  if (value.size() < secret.size() + 4 || value.substr(0, secret.size()) != secret)
    return std::nullopt;
  value.remove_prefix(secret.size() + 1);
  int status = 0;
  for (int i = 0; i < 3; ++i) {
    if (value[static_cast<std::size_t>(i)] < '0' || value[static_cast<std::size_t>(i)] > '9')
      return std::nullopt;
    status = status * 10 + (value[static_cast<std::size_t>(i)] - '0');
  }
  value.remove_prefix(3);
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return WireVerdict{status, std::string(value)};
}

void WireGuard::refuse(int status, std::string detail, std::string* out) {
  // The bytes of the refused request are dropped; the earlier ones were
  // already released, so the verdict is answered after their responses.
  held_.clear();
  for (char& c : detail) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = ' ';
  }
  *out += "GET / HTTP/1.1\r\nHost: atelier\r\nConnection: close\r\n";
  *out += marker_header();
  *out += ": " + process_secret() + " " + std::to_string(status) + " " + detail + "\r\n\r\n";
  verdict_ = WireVerdict{status, std::move(detail)};
  mid_request_ = false;
}

void WireGuard::meter_frames(std::string_view bytes, std::string* out) {
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    if (payload_left_ > 0) {
      const std::uint64_t take = std::min<std::uint64_t>(payload_left_, bytes.size() - pos);
      payload_left_ -= take;
      pos += static_cast<std::size_t>(take);
      continue;
    }
    frame_head_[frame_have_++] = static_cast<std::uint8_t>(bytes[pos++]);
    if (frame_have_ == 2) {
      const unsigned len7 = frame_head_[1] & 0x7f;
      frame_need_ = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0) + ((frame_head_[1] & 0x80) ? 4 : 0);
    }
    if (frame_have_ < 2 || frame_have_ < frame_need_) continue;
    const unsigned len7 = frame_head_[1] & 0x7f;
    std::uint64_t len = len7;
    if (len7 >= 126) {
      const std::size_t n = len7 == 126 ? 2 : 8;
      len = 0;
      for (std::size_t i = 0; i < n; ++i) len = (len << 8) | frame_head_[2 + i];
    }
    if (len > limits_.max_ws_frame_bytes) {
      cut_ = true;
      return;  // nothing of this read goes on
    }
    payload_left_ = len;
    frame_have_ = 0;
    frame_need_ = 2;
  }
  out->append(bytes);
}

void WireGuard::feed(std::string_view bytes, std::string* out) {
  if (verdict_ || cut_) return;
  if (upgraded_) {
    meter_frames(bytes, out);
    return;
  }
  std::size_t pos = 0;
  while (pos < bytes.size()) {
    p_->event = Event::none;
    const std::size_t n =
        http_parser_execute(&p_->parser, &p_->settings, bytes.data() + pos, bytes.size() - pos);
    const std::string_view seg = bytes.substr(pos, n);
    if (in_body_) {
      out->append(seg);
    } else {
      held_.append(seg);
      if (!held_.empty() && held_.find_first_not_of("\r\n") != std::string::npos)
        mid_request_ = true;
    }
    pos += n;
    const auto err = HTTP_PARSER_ERRNO(&p_->parser);
    if (err == HPE_PAUSED) {
      http_parser_pause(&p_->parser, 0);
      if (p_->event == Event::headers_complete) {
        out->append(held_);
        held_.clear();
        in_body_ = true;
      } else if (p_->event == Event::message_complete) {
        out->append(held_);
        held_.clear();
        in_body_ = false;
        mid_request_ = false;
        if (p_->parser.upgrade) {
          // Everything after an upgrade request is another protocol.
          upgraded_ = true;
          meter_frames(bytes.substr(pos), out);
          return;
        }
      }
      continue;
    }
    if (err != HPE_OK) {
      int status = p_->refuse_status;
      if (status == 0) {
        // The parser may stop a few bytes in: look at the message's first bytes.
        std::string head = held_ + std::string(bytes.substr(pos, 64 * 1024));
        head.erase(0, std::min(head.size(), head.find_first_not_of("\r\n")));
        if (head.rfind("PRI", 0) == 0) {
          status = 505;  // the HTTP/2 preface ("PRI * HTTP/2.0"); PRI is no HTTP/1.1 method
        } else if (err == HPE_HEADER_OVERFLOW &&
                   held_.find('\n', held_.find_first_not_of("\r\n")) == std::string::npos) {
          status = 414;  // still in the request line: the target is what is too long
        } else if (err == HPE_INVALID_METHOD) {
          status = 501;
        } else if (err == HPE_HEADER_OVERFLOW) {
          status = 431;
        } else if (err == HPE_INVALID_VERSION) {
          status = 505;
        } else {
          status = 400;
        }
      }
      std::string detail(reason_for(status));
      if (status == 400) detail += std::string(" (") + http_errno_description(err) + ")";
      refuse(status, std::move(detail), out);
      return;
    }
    // A chunked body being held: bounded like a declared one.
    if (!in_body_ && held_.size() > limits_.max_body_bytes + limits_.max_header_bytes) {
      refuse(413, std::string(reason_for(413)), out);
      return;
    }
    if (n == 0) break;  // defensive: no progress without an error
  }
}

}  // namespace atelier::http
