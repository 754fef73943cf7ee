#include "http/http.h"

#include <charconv>

#include <cctype>
#include <cmath>

namespace atelier::http {

std::string_view method_name(Method m) noexcept {
  switch (m) {
    case Method::get:
      return "GET";
    case Method::head:
      return "HEAD";
    case Method::post:
      return "POST";
    case Method::put:
      return "PUT";
    case Method::patch:
      return "PATCH";
    case Method::del:
      return "DELETE";
    case Method::options:
      return "OPTIONS";
    case Method::other:
      return "OTHER";
  }
  return "OTHER";
}

Method parse_method(std::string_view s) noexcept {
  if (s == "GET") return Method::get;
  if (s == "POST") return Method::post;
  if (s == "HEAD") return Method::head;
  if (s == "PUT") return Method::put;
  if (s == "PATCH") return Method::patch;
  if (s == "DELETE") return Method::del;
  if (s == "OPTIONS") return Method::options;
  return Method::other;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Request::header(std::string_view name) const noexcept {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) return h.value;
  }
  return {};
}

bool Request::has_header(std::string_view name) const noexcept {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) return true;
  }
  return false;
}

std::string url_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c == '%' && i + 2 < s.size() &&
               std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      auto hex = [](char h) { return h <= '9' ? h - '0' : (h | 0x20) - 'a' + 10; };
      out.push_back(static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2])));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool Request::query_param(std::string_view name, std::string* out) const {
  std::string_view q = query;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto part = q.substr(0, amp);
    auto eq = part.find('=');
    auto key = url_decode(part.substr(0, eq), true);
    if (key == name) {
      *out = eq == std::string_view::npos ? std::string() : url_decode(part.substr(eq + 1), true);
      return true;
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return false;
}

Result<std::int64_t> Request::query_int(std::string_view name, std::int64_t fallback,
                                        std::int64_t lo, std::int64_t hi) const {
  std::string v;
  if (!query_param(name, &v) || v.empty()) return fallback;
  return parse_integer(v, name, lo, hi);
}

Result<double> Request::query_number(std::string_view name, double fallback, double lo,
                                     double hi) const {
  std::string v;
  if (!query_param(name, &v) || v.empty()) return fallback;
  return parse_number(v, name, lo, hi);
}

Result<std::int64_t> parse_integer(std::string_view text, std::string_view name, std::int64_t lo,
                                   std::int64_t hi) {
  std::int64_t x = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), x);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || x < lo || x > hi)
    return Status::invalid_argument("'" + std::string(name) + "' must be an integer from " +
                                    std::to_string(lo) + " to " + std::to_string(hi));
  return x;
}

Result<double> parse_number(std::string_view text, std::string_view name, double lo, double hi) {
  double x = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), x);
  if (text.empty() || ec != std::errc() || p != text.data() + text.size() || !(x >= lo && x <= hi))
    return Status::invalid_argument("'" + std::string(name) + "' must be a number between " +
                                    nlohmann::json(lo).dump() + " and " +
                                    nlohmann::json(hi).dump());
  return x;
}

double round_for_answer(double x) {
  // Zero, NaN, infinities and subnormal-scale values are left as they are.
  if (!std::isfinite(x) || std::fabs(x) < 1e-290 || std::fabs(x) > 1e290) return x;
  const int exp10 = static_cast<int>(std::floor(std::log10(std::fabs(x))));
  // Multiply or divide by an exact power of ten (10^-k is not exact).
  if (exp10 <= 5) {
    const double scale = std::pow(10.0, 5 - exp10);
    return std::round(x * scale) / scale;
  }
  const double scale = std::pow(10.0, exp10 - 5);
  return std::round(x / scale) * scale;
}

namespace {

// Rounds every floating-point number in `j` (round_for_answer); integers
// and the rest are left alone.
template <class J>
void round_numbers(J& j) {
  if (j.is_number_float()) {
    j = round_for_answer(j.template get<double>());
  } else if (j.is_object()) {
    // What a caller stored comes back as stored: documents' `metadata`,
    // feedback's `context`.
    for (auto& [k, v] : j.items()) {
      if (k != "metadata" && k != "context") round_numbers(v);
    }
  } else if (j.is_array()) {
    for (auto& v : j) round_numbers(v);
  }
}

template <class J>
std::string dump_exact(const J& j) {
  return j.dump(-1, ' ', false, J::error_handler_t::replace);
}

template <class J>
bool has_float(const J& j) {  // anywhere: a stored value skipped by round_numbers costs a copy
  if (j.is_number_float()) return true;
  if (!j.is_structured()) return false;
  for (const auto& v : j) {
    if (has_float(v)) return true;
  }
  return false;
}

// Copies only an answer that has fractional numbers to round.
template <class J>
std::string dump_answer(const J& j) {
  if (!has_float(j)) return dump_exact(j);
  J rounded = j;
  round_numbers(rounded);
  return dump_exact(rounded);
}

}  // namespace

Response Response::json(int status, const nlohmann::json& j) {
  Response r;
  r.status = status;
  r.body = dump_answer(j);
  return r;
}

Response Response::json_ordered(int status, const nlohmann::ordered_json& j) {
  Response r;
  r.status = status;
  r.body = dump_answer(j);
  return r;
}

Response Response::json_exact(int status, const nlohmann::ordered_json& j) {
  Response r;
  r.status = status;
  r.body = dump_exact(j);
  return r;
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.content_type = std::move(content_type);
  return r;
}

Response Response::upgraded() {
  Response r;
  r.status = 101;
  r.content_type.clear();
  r.streamed = true;
  return r;
}

Response Response::stream_done(const StreamWriter& w, int status) {
  Response r;
  r.status = status;
  r.content_type.clear();
  r.streamed = true;
  r.streamed_bytes = w.bytes_written();
  return r;
}

Response Response::no_content() {
  Response r;
  r.status = 204;
  r.content_type.clear();
  return r;
}

void Response::set_header(std::string name, std::string value) {
  for (auto& h : headers) {
    if (iequals(h.name, name)) {
      h.value = std::move(value);
      return;
    }
  }
  headers.push_back({std::move(name), std::move(value)});
}

}  // namespace atelier::http

namespace atelier::http {
bool Response::has_header(std::string_view name) const noexcept {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) return true;
  }
  return false;
}

std::string_view Response::header(std::string_view name) const noexcept {
  for (const auto& h : headers) {
    if (iequals(h.name, name)) return h.value;
  }
  return {};
}
}  // namespace atelier::http
