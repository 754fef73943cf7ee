// Request targets: percent-decoding, query parameters and routing.
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/router.h"

namespace {
atelier::http::Router make_router() {
  atelier::http::Router r;
  for (const char* path :
       {"/v1/collections", "/v1/collections/{name}", "/v1/collections/{name}/documents",
        "/v1/collections/{name}/documents/{id}", "/v1/designs/{id}/image", "/health"}) {
    atelier::http::RouteSpec s;
    s.method = atelier::http::Method::get;
    s.path = path;
    r.add(std::move(s));
  }
  return r;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const atelier::http::Router router = make_router();
  const std::string target(reinterpret_cast<const char*>(data), size);
  const auto q = target.find('?');
  atelier::http::Request req;
  req.path = target.substr(0, q);
  req.query = q == std::string::npos ? "" : target.substr(q + 1);
  (void)router.match(atelier::http::Method::get, req.path);
  (void)router.match(atelier::http::Method::post, req.path);
  std::string v;
  for (const char* name : {"q", "k", "filter", ""}) (void)req.query_param(name, &v);
  (void)atelier::http::url_decode(target, true);
  return 0;
}
