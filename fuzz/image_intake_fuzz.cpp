// How image routes read a request: multipart/form-data, JSON with base64 (or
// a data URL), raw image bodies; then format sniffing and decoding under
// small limits. The first byte picks the content type; the rest is the body.
#include <cstddef>
#include <cstdint>
#include <string>

#include "http/image_input.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static const char* kTypes[] = {"multipart/form-data; boundary=XyZ",
                                 "multipart/form-data; boundary=\"a b\"",
                                 "application/json",
                                 "image/png",
                                 "image/jpeg",
                                 "multipart/form-data"};
  atelier::http::Request req;
  req.method = atelier::http::Method::post;
  req.headers.push_back({"Content-Type", kTypes[data[0] % 6]});
  req.body.assign(reinterpret_cast<const char*>(data + 1), size - 1);
  atelier::net::UrlPolicy urls;  // no hosts allowed: image_url is refused, never fetched
  atelier::WorkContext work;
  auto r = atelier::api::read_images(req, 4, urls, work);
  if (r.is_ok()) {
    (void)atelier::api::decode_all(*r, atelier::image::Limits{1'000'000, 64});
  }
  (void)atelier::api::decode_base64_image(req.body, "fuzz");
  (void)atelier::image::probe(req.body);
  return 0;
}
