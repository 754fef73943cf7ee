#include "core/status.h"

namespace atelier {

std::string_view code_name(Code c) noexcept {
  switch (c) {
    case Code::ok:
      return "ok";
    case Code::invalid_argument:
      return "invalid_argument";
    case Code::unprocessable:
      return "unprocessable";
    case Code::not_found:
      return "not_found";
    case Code::already_exists:
      return "already_exists";
    case Code::unauthenticated:
      return "unauthenticated";
    case Code::permission_denied:
      return "permission_denied";
    case Code::payload_too_large:
      return "payload_too_large";
    case Code::unsupported_media:
      return "unsupported_media";
    case Code::resource_exhausted:
      return "resource_exhausted";
    case Code::unavailable:
      return "unavailable";
    case Code::deadline_exceeded:
      return "deadline_exceeded";
    case Code::cancelled:
      return "cancelled";
    case Code::internal:
      return "internal";
  }
  return "unknown";
}

std::string Status::to_string() const {
  if (is_ok()) return "ok";
  std::string s(code_name(code_));
  s += ": ";
  s += message_;
  return s;
}

}  // namespace atelier
