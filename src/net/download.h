// Streaming downloads to a file, for `atelier models pull`: redirects are
// followed (model hubs answer with a redirect to their CDN) but only to
// https, or to http when the starting URL was http (a local mirror); the
// body's SHA-256 is computed while it is written; response headers are kept
// (lower-case names, the first value seen across redirects, which is the
// hub's own answer: X-Linked-Etag, X-Linked-Size, ETag).
//
// Thread safety: download() may be called concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"

namespace atelier::net {

struct DownloadRequest {
  std::string url;
  std::string path;  // written (truncated); the caller renames it into place
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::seconds connect_timeout{20};
  std::chrono::seconds stall_timeout{60};  // below 1 KB/s for this long aborts
  std::function<void(std::uint64_t received, std::uint64_t total)>
      progress;  // total 0 when unknown
};

struct DownloadResult {
  int status = 0;
  std::uint64_t bytes = 0;
  std::string sha256_hex;
  std::map<std::string, std::string> headers;
};

// unavailable when the server cannot be reached or the transfer breaks,
// deadline_exceeded when it stalls, internal when the file cannot be written.
// HTTP error statuses come back in `status` (the file then holds the error body).
Result<DownloadResult> download(const DownloadRequest& req);

}  // namespace atelier::net
