// How image endpoints receive images: multipart/form-data (an `image` part;
// several for batch endpoints), a raw image/* body, or JSON with base64
// (`image`, or `input` for the OpenAI-shaped embeddings endpoint). Options
// come from the other form fields, the JSON object's other keys, or the query
// string, in that order.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "config/config.h"
#include "core/cancel.h"
#include "core/status.h"
#include "http/http.h"
#include "image/image.h"
#include "net/http_client.h"

namespace atelier::api {

struct ImageRequest {
  std::vector<std::string> images;                   // encoded bytes, as received
  nlohmann::json fields = nlohmann::json::object();  // string or JSON values of the other fields

  // Option lookup: fields first, then the query string. nullopt-free: false when absent.
  bool option(const http::Request& req, const std::string& name, std::string* out) const;
  Result<double> number(const http::Request& req, const std::string& name, double fallback,
                        double lo, double hi) const;
  Result<bool> flag(const http::Request& req, const std::string& name, bool fallback) const;
};

// max_images: 1 for single-image endpoints. A JSON `image_url` is fetched
// under `urls` (off unless hosts are allowed; see net::fetch_url).
Result<ImageRequest> read_images(const http::Request& req, std::size_t max_images,
                                 const net::UrlPolicy& urls, const WorkContext& work);

net::UrlPolicy url_policy(const Config& c);

// Decodes a base64 image (standard or URL-safe, padded or not, or a base64
// data URL); `where` names it in the error.
Result<std::string> decode_base64_image(const std::string& s, const std::string& where);

// Decodes every image under the limits; the index is named in errors.
Result<std::vector<image::Image>> decode_all(const ImageRequest& r, const image::Limits& limits);

// The request schema fragment every image endpoint documents.
nlohmann::json image_request_body(const nlohmann::json& extra_fields, bool many);

}  // namespace atelier::api
