#include "http/paging.h"

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

}  // namespace atelier::http
