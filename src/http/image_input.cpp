#include "http/image_input.h"

#include "http/route_deps.h"

#include "core/base64.h"
#include "http/multipart.h"
#include "http/problem.h"

namespace atelier::api {

namespace {}  // namespace

Result<std::string> decode_base64_image(const std::string& s, const std::string& where) {
  std::string_view v = s;
  if (v.starts_with("data:")) {  // data URL: data:image/png;base64,....
    auto comma = v.find(',');
    if (comma == std::string_view::npos ||
        v.substr(0, comma).find(";base64") == std::string_view::npos) {
      return Status::invalid_argument(where + ": only base64 data URLs are accepted");
    }
    v.remove_prefix(comma + 1);
  }
  if (v.empty()) return Status::invalid_argument(where + " is empty");
  // Standard, URL-safe and unpadded base64 are all accepted (clients differ).
  auto out = base64_decode(v);
  if (!out) return Status::invalid_argument(where + " is not valid base64");
  return std::move(*out);
}

namespace {
Result<std::string> base64_image(const std::string& s, std::size_t index) {
  return decode_base64_image(s, "image " + std::to_string(index));
}
}  // namespace

bool ImageRequest::option(const http::Request& req, const std::string& name,
                          std::string* out) const {
  auto it = fields.find(name);
  if (it != fields.end() && !it->is_null()) {
    *out = it->is_string() ? it->get<std::string>() : it->dump();
    return true;
  }
  return req.query_param(name, out);
}

Result<double> ImageRequest::number(const http::Request& req, const std::string& name,
                                    double fallback, double lo, double hi) const {
  std::string v;
  if (!option(req, name, &v) || v.empty()) return fallback;
  return http::parse_number(v, name, lo, hi);
}

Result<bool> ImageRequest::flag(const http::Request& req, const std::string& name,
                                bool fallback) const {
  std::string v;
  if (!option(req, name, &v) || v.empty()) return fallback;
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  return Status::invalid_argument("'" + name + "' must be true or false");
}

net::UrlPolicy url_policy(const Config& c) {
  net::UrlPolicy p;
  std::string item;
  for (char ch : c.image_url_hosts + ",") {
    if (ch == ',') {
      if (!item.empty()) p.allowed_hosts.push_back(item);
      item.clear();
    } else if (ch != ' ') {
      item += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    }
  }
  p.allow_private = c.image_url_allow_private;
  p.timeout = std::chrono::seconds(c.image_url_timeout_s);
  p.max_bytes = static_cast<std::size_t>(c.max_body_bytes);
  return p;
}

Result<ImageRequest> read_images(const http::Request& req, std::size_t max_images,
                                 const net::UrlPolicy& urls, const WorkContext& work) {
  ImageRequest r;
  std::string_view ct = req.header("Content-Type");
  if (http::is_multipart(req)) {
    ATELIER_ASSIGN_OR_RETURN(auto parts, http::parse_multipart(req));
    for (const auto& p : parts) {
      if (p.name == "image" || p.name == "images" || p.name == "file" || !p.filename.empty()) {
        r.images.emplace_back(p.body);
      } else if (!p.name.empty()) {
        r.fields[p.name] = std::string(p.body);
      }
    }
    if (r.images.empty()) return Status::invalid_argument("multipart body has no 'image' part");
  } else if (ct.size() >= 6 && http::iequals(ct.substr(0, 6), "image/")) {
    r.images.push_back(req.body);
  } else if (ct.empty() ||
             (ct.size() >= 16 && http::iequals(ct.substr(0, 16), "application/json"))) {
    ATELIER_ASSIGN_OR_RETURN(nlohmann::json body, http::parse_json_body(req));
    if (!body.is_object()) return Status::invalid_argument("request body must be a JSON object");
    for (auto& [k, v] : body.items()) {
      if (k == "image" || k == "images" || k == "input") {
        if (v.is_string()) {
          ATELIER_ASSIGN_OR_RETURN(auto b, base64_image(v.get<std::string>(), r.images.size()));
          r.images.push_back(std::move(b));
        } else if (v.is_array()) {
          for (const auto& item : v) {
            if (!item.is_string())
              return Status::invalid_argument("'" + k + "' must hold base64 strings");
            if (r.images.size() >= max_images) break;  // counted below
            ATELIER_ASSIGN_OR_RETURN(auto b,
                                     base64_image(item.get<std::string>(), r.images.size()));
            r.images.push_back(std::move(b));
          }
          if (v.size() > max_images) {
            return Status::invalid_argument("at most " + std::to_string(max_images) +
                                            " images per request");
          }
        } else {
          return Status::invalid_argument("'" + k +
                                          "' must be a base64 string or an array of them");
        }
      } else if (k == "image_url") {
        if (!v.is_string()) return Status::invalid_argument("'image_url' must be a string");
        ATELIER_ASSIGN_OR_RETURN(net::OutboundResponse got,
                                 net::fetch_url(v.get<std::string>(), urls, work));
        r.images.push_back(std::move(got.body));
      } else {
        r.fields[k] = v;
      }
    }
    if (r.images.empty())
      return Status::invalid_argument(
          "no image: send 'image' as base64, multipart, or an image/* body");
  } else {
    return Status::unsupported_media(
        "send the image as multipart/form-data, an image/* body, or JSON with base64");
  }
  if (r.images.size() > max_images) {
    return Status::invalid_argument("at most " + std::to_string(max_images) +
                                    " images per request");
  }
  for (std::size_t i = 0; i < r.images.size(); ++i) {
    if (r.images[i].empty())
      return Status::invalid_argument("image " + std::to_string(i) + " is empty");
  }
  return r;
}

image::Limits image_limits(const ApiDeps& d, int max_side, const WorkContext& work) {
  image::Limits l;
  l.max_pixels = d.config.max_image_pixels;
  l.max_side = max_side;
  l.budget = d.decode_budget;
  // Waiting for budget is worth it only while the request can still finish.
  l.budget_wait = std::max(std::chrono::milliseconds(0), work.deadline.remaining());
  return l;
}

Result<std::vector<image::Image>> decode_all(const ImageRequest& r, const image::Limits& limits) {
  std::vector<image::Image> out;
  out.reserve(r.images.size());
  for (std::size_t i = 0; i < r.images.size(); ++i) {
    auto img = image::decode(r.images[i], limits);
    if (!img.is_ok()) {
      const Status& s = img.status();
      if (r.images.size() == 1) return s;
      return Status(s.code(), "image " + std::to_string(i) + ": " + s.message());
    }
    out.push_back(std::move(img).value());
  }
  return out;
}

nlohmann::json image_request_body(const nlohmann::json& extra_fields, bool many) {
  nlohmann::json json_props = extra_fields;
  nlohmann::json form_props = extra_fields;
  if (many) {
    json_props["input"] = {
        {"oneOf",
         {{{"type", "string"}, {"format", "byte"}},
          {{"type", "array"}, {"items", {{"type", "string"}, {"format", "byte"}}}}}},
        {"description", "base64 image(s) or data URLs"}};
    form_props["image"] = {{"type", "array"},
                           {"items", {{"type", "string"}, {"format", "binary"}}}};
  } else {
    json_props["image"] = {
        {"type", "string"}, {"format", "byte"}, {"description", "base64 image or data URL"}};
    form_props["image"] = {{"type", "string"}, {"format", "binary"}};
  }
  return {{"required", true},
          {"content",
           {{"multipart/form-data", {{"schema", {{"type", "object"}, {"properties", form_props}}}}},
            {"image/*", {{"schema", {{"type", "string"}, {"format", "binary"}}}}},
            {"application/json", {{"schema", {{"type", "object"}, {"properties", json_props}}}}}}}};
}

}  // namespace atelier::api
