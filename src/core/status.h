// One error model for the whole server: every fallible function returns
// Status or Result<T>. The HTTP layer maps Code to a problem+json status in
// exactly one place (http/problem.cpp); nothing below the HTTP layer knows
// about HTTP. Handlers never throw.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace atelier {

enum class Code {
  ok = 0,
  invalid_argument,    // 400: the caller sent something wrong
  unprocessable,       // 422: well-formed, but conflicts with what the request claims to be
  not_found,           // 404
  already_exists,      // 409
  unauthenticated,     // 401
  permission_denied,   // 403
  payload_too_large,   // 413
  unsupported_media,   // 415
  resource_exhausted,  // 429: quota or rate limit
  unavailable,         // 503: overloaded, draining, dependency down
  deadline_exceeded,   // 504
  cancelled,           // 499: the client went away
  internal,            // 500
};

std::string_view code_name(Code c) noexcept;

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  static Status invalid_argument(std::string m) { return {Code::invalid_argument, std::move(m)}; }
  static Status unprocessable(std::string m) { return {Code::unprocessable, std::move(m)}; }
  static Status not_found(std::string m) { return {Code::not_found, std::move(m)}; }
  static Status already_exists(std::string m) { return {Code::already_exists, std::move(m)}; }
  static Status unauthenticated(std::string m) { return {Code::unauthenticated, std::move(m)}; }
  static Status permission_denied(std::string m) { return {Code::permission_denied, std::move(m)}; }
  static Status payload_too_large(std::string m) { return {Code::payload_too_large, std::move(m)}; }
  static Status unsupported_media(std::string m) { return {Code::unsupported_media, std::move(m)}; }
  static Status resource_exhausted(std::string m) {
    return {Code::resource_exhausted, std::move(m)};
  }
  static Status unavailable(std::string m) { return {Code::unavailable, std::move(m)}; }
  static Status deadline_exceeded(std::string m) { return {Code::deadline_exceeded, std::move(m)}; }
  static Status cancelled(std::string m) { return {Code::cancelled, std::move(m)}; }
  static Status internal(std::string m) { return {Code::internal, std::move(m)}; }

  bool is_ok() const noexcept { return code_ == Code::ok; }
  explicit operator bool() const noexcept { return is_ok(); }
  Code code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  std::string to_string() const;

 private:
  Code code_ = Code::ok;
  std::string message_;
};

// Result<T> holds either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    assert(!std::get<Status>(v_).is_ok() && "Result constructed from an OK status");
  }

  bool is_ok() const noexcept { return std::holds_alternative<T>(v_); }
  explicit operator bool() const noexcept { return is_ok(); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &std::get<T>(v_); }
  const T* operator->() const { return &std::get<T>(v_); }
  T& operator*() & { return std::get<T>(v_); }
  const T& operator*() const& { return std::get<T>(v_); }

  Status status() const { return is_ok() ? Status::ok() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace atelier

// Propagate a non-OK Status (or a Result's status) to the caller.
#define ATELIER_RETURN_IF_ERROR(expr) \
  do {                                \
    ::atelier::Status _st = (expr);   \
    if (!_st.is_ok()) return _st;     \
  } while (0)

#define ATELIER_CONCAT_INNER(a, b) a##b
#define ATELIER_CONCAT(a, b) ATELIER_CONCAT_INNER(a, b)
// `tmp` names a variable and `lhs` may be a declaration ("auto x"): neither
// can be parenthesised.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define ATELIER_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                  \
  if (!tmp.is_ok()) return tmp.status();              \
  lhs = std::move(tmp).value()
// NOLINTEND(bugprone-macro-parentheses)
#define ATELIER_ASSIGN_OR_RETURN(lhs, expr) \
  ATELIER_ASSIGN_OR_RETURN_IMPL(ATELIER_CONCAT(_res_, __LINE__), lhs, expr)
