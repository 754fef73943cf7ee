#include "net/download.h"

#include "net/curl_handles.h"

#include <curl/curl.h>
#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

namespace atelier::net {

namespace {

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

struct Sink {
  std::FILE* file = nullptr;
  bool write_failed = false;
  std::uint64_t bytes = 0;
  crypto_hash_sha256_state sha;
  std::map<std::string, std::string> headers;
  const DownloadRequest* req = nullptr;
};

std::size_t on_data(char* p, std::size_t size, std::size_t n, void* self) {
  auto* s = static_cast<Sink*>(self);
  const std::size_t len = size * n;
  if (std::fwrite(p, 1, len, s->file) != len) {
    s->write_failed = true;
    return 0;
  }
  crypto_hash_sha256_update(&s->sha, reinterpret_cast<const unsigned char*>(p), len);
  s->bytes += len;
  return len;
}

std::size_t on_header(char* p, std::size_t size, std::size_t n, void* self) {
  auto* s = static_cast<Sink*>(self);
  std::string line(p, size * n);
  const auto colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    const auto b = value.find_first_not_of(" \t"), e = value.find_last_not_of(" \t\r\n");
    value = b == std::string::npos ? "" : value.substr(b, e - b + 1);
    s->headers.emplace(name, value);  // the first response's value wins
  }
  return size * n;
}

int on_progress(void* self, curl_off_t total, curl_off_t now, curl_off_t, curl_off_t) {
  auto* s = static_cast<Sink*>(self);
  if (s->req->progress)
    s->req->progress(static_cast<std::uint64_t>(now), static_cast<std::uint64_t>(total));
  return 0;
}

}  // namespace

Result<DownloadResult> download(const DownloadRequest& req) {
  std::unique_ptr<std::FILE, FileCloser> f(std::fopen(req.path.c_str(), "wb"));
  if (!f) return Status::internal(req.path + ": " + std::strerror(errno));
  std::unique_ptr<CURL, EasyDeleter> c(curl_easy_init());
  if (!c) return Status::internal("curl_easy_init failed");
  Sink sink;
  sink.file = f.get();
  sink.req = &req;
  crypto_hash_sha256_init(&sink.sha);
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  for (const auto& [k, v] : req.headers)
    headers.reset(
        curl_slist_append(headers.release(), std::string(k).append(": ").append(v).c_str()));
  const bool plain = req.url.rfind("http://", 0) == 0;
  CURL* h = c.get();
  curl_easy_setopt(h, CURLOPT_URL, req.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, plain ? "http,https" : "https");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, static_cast<long>(req.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(req.stall_timeout.count()));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &on_data);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &sink);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &sink);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &sink);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "atelier/" ATELIER_VERSION);
  if (headers) curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  const CURLcode rc = curl_easy_perform(h);
  if (sink.write_failed)
    return Status::internal(req.path + ": write failed: " + std::strerror(errno));
  if (rc == CURLE_OPERATION_TIMEDOUT)
    return Status::deadline_exceeded(req.url + ": the transfer stalled for " +
                                     std::to_string(req.stall_timeout.count()) + " s");
  if (rc != CURLE_OK) return Status::unavailable(req.url + ": " + curl_easy_strerror(rc));
  if (std::fflush(f.get()) != 0) return Status::internal(req.path + ": " + std::strerror(errno));
  DownloadResult out;
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  out.status = static_cast<int>(status);
  out.bytes = sink.bytes;
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&sink.sha, digest);
  static const char* hex = "0123456789abcdef";
  for (unsigned char b : digest) {
    out.sha256_hex.push_back(hex[b >> 4]);
    out.sha256_hex.push_back(hex[b & 15]);
  }
  out.headers = std::move(sink.headers);
  return out;
}

}  // namespace atelier::net
