#include "http/paging.h"

#include <cctype>
#include <string>

namespace atelier::http {

Result<std::optional<PagePosition>> page_start(const RequestContext& ctx,
                                               const PageCursors& cursors, std::string_view list) {
  std::string v;
  if (!ctx.req.query_param("cursor", &v) || v.empty()) return std::optional<PagePosition>();
  ATELIER_ASSIGN_OR_RETURN(PagePosition at, cursors.open(list, ctx.identity.id, v));
  return std::optional<PagePosition>(std::move(at));
}

nlohmann::ordered_json next_cursor(const RequestContext& ctx, const PageCursors& cursors,
                                   std::string_view list, const std::optional<PagePosition>& next) {
  if (!next) return nullptr;
  return cursors.seal(list, ctx.identity.id, *next);
}

QueryParam cursor_param() {
  return {"cursor", "next_cursor of the previous page (opaque)", {{"type", "string"}}};
}

Result<int> page_limit(const RequestContext& ctx, int fallback, int max) {
  ATELIER_ASSIGN_OR_RETURN(const std::int64_t n, ctx.req.query_int("limit", fallback, 1, max));
  return static_cast<int>(n);
}

QueryParam limit_param(int fallback, int max) {
  return {"limit",
          "items on a page, 1 to " + std::to_string(max) + " (default " + std::to_string(fallback) +
              ")",
          {{"type", "integer"}, {"minimum", 1}, {"maximum", max}, {"default", fallback}}};
}

namespace {

// Unreserved characters stay, everything else is %XX (RFC 3986).
std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// The request's query without its cursor, then `cursor` as the new one. Each
// name and value is decoded and encoded again, so that nothing the caller
// wrote can close the Link's <...> or add parameters to it, and a cursor
// spelled with escapes (%63ursor) is dropped like any other.
std::string next_query(std::string_view query, std::string_view cursor) {
  std::string out;
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    const std::string name = url_decode(part.substr(0, eq), true);
    if (name == "cursor") continue;
    out += url_encode(name);
    if (eq != std::string_view::npos)
      out += '=' + url_encode(url_decode(part.substr(eq + 1), true));
    out += '&';
  }
  return out + "cursor=" + url_encode(cursor);
}

}  // namespace

Response page_answer(const RequestContext& ctx, const PageCursors& cursors, std::string_view list,
                     const std::optional<PagePosition>& next, nlohmann::ordered_json body) {
  body["next_cursor"] = next_cursor(ctx, cursors, list, next);
  Response r = Response::json_ordered(200, body);
  if (next) {
    r.set_header("Link", "<" + ctx.req.path + "?" +
                             next_query(ctx.req.query, body["next_cursor"].get<std::string>()) +
                             ">; rel=\"next\"");
  }
  return r;
}

}  // namespace atelier::http
