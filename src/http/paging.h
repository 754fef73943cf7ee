// Paged lists over HTTP: ?cursor= (a PageCursors cursor, core/page_cursor.h)
// and "next_cursor" in the answer, the same on every paged route. A cursor is
// opened for the list and the caller it was issued to; anything else is 400
// "malformed cursor".
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string_view>

#include "core/page_cursor.h"
#include "http/router.h"

namespace atelier::http {

// The position ?cursor= names, or nullopt when the request asks for the first page.
Result<std::optional<PagePosition>> page_start(const RequestContext& ctx,
                                               const PageCursors& cursors, std::string_view list);

// next_cursor's value: the sealed position, or null on the last page.
nlohmann::ordered_json next_cursor(const RequestContext& ctx, const PageCursors& cursors,
                                   std::string_view list, const std::optional<PagePosition>& next);

// The route's documentation of ?cursor=.
QueryParam cursor_param();
// ?limit= (1 to `max`, default `fallback`) and its documentation.
Result<int> page_limit(const RequestContext& ctx, int fallback = 20, int max = 100);
QueryParam limit_param(int fallback = 20, int max = 100);

// A page's answer: `body` with "next_cursor" set, and, when there is a next
// page, a Link header (RFC 8288, rel="next") to it: this request's own path
// and query with the new cursor.
Response page_answer(const RequestContext& ctx, const PageCursors& cursors, std::string_view list,
                     const std::optional<PagePosition>& next, nlohmann::ordered_json body);

}  // namespace atelier::http
