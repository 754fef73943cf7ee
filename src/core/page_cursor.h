// The one page-cursor format of every paged list (wardrobe items, designs,
// conversation turns): opaque to clients, signed, and bound to the list and
// the caller it was issued for. A cursor names where the next page starts
// (a PagePosition: a time and an id, or a number) and nothing else; clients
// pass back next_cursor unchanged. One that was altered, forged, or issued
// for another list or another caller is refused as "malformed cursor" (400),
// never read. The key is derived from the server's signing secret, so every
// replica of a deployment reads the cursors of the others.
//
// Format: base64url(payload) "." base64url(HMAC-SHA-256(key, payload)[0..16)),
// payload = "v1|<list>|<owner>|<ts>|<id>".
//
// Thread safety: const after construction.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace atelier {

// Where a page starts: after (or before, for newest-first lists) the row
// with this time and id; lists ordered by a number use `ts` alone.
struct PagePosition {
  std::int64_t ts = 0;
  std::string id;
  friend bool operator==(const PagePosition&, const PagePosition&) = default;
};

// A keyset page's start as query parameters: NULLs for the first page.
struct KeysetBound {
  std::optional<std::int64_t> ts;
  std::optional<std::string> id;
};
inline KeysetBound keyset_bound(const std::optional<PagePosition>& at) {
  if (!at) return {};
  return {at->ts, at->id};
}

// Rows read with LIMIT limit + 1: keeps `limit` of them and returns where the
// next page starts (`position` of the last row kept), or nullopt on the last page.
template <class T, class F>
std::optional<PagePosition> trim_page(std::vector<T>& rows, int limit, F position) {
  if (static_cast<int>(rows.size()) <= limit) return std::nullopt;
  rows.resize(static_cast<std::size_t>(limit));
  return position(rows.back());
}

class PageCursors {
 public:
  // `secret`: the server's signing secret (at least 32 bytes in production);
  // the cursor key is derived from it, never the secret itself.
  explicit PageCursors(std::string_view secret);

  std::string seal(std::string_view list, std::string_view owner, const PagePosition& at) const;
  // invalid_argument "malformed cursor" for anything seal() did not issue
  // for this list and owner.
  Result<PagePosition> open(std::string_view list, std::string_view owner,
                            std::string_view cursor) const;

 private:
  std::string mac(std::string_view payload) const;
  std::string key_;  // 32 bytes
};

}  // namespace atelier
