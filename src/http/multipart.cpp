#include "http/multipart.h"

#include <restinio/helpers/http_field_parsers/content-disposition.hpp>
#include <restinio/helpers/http_field_parsers/content-type.hpp>
#include <restinio/helpers/multipart_body.hpp>

namespace atelier::http {

namespace hfp = restinio::http_field_parsers;
namespace mp = restinio::multipart_body;

bool is_multipart(const Request& req) {
  std::string_view ct = req.header("Content-Type");
  return ct.size() >= 19 && iequals(ct.substr(0, 19), "multipart/form-data");
}

Result<std::vector<FormPart>> parse_multipart(const Request& req) {
  auto ct = hfp::content_type_value_t::try_parse(req.header("Content-Type"));
  if (!ct) return Status::invalid_argument("malformed Content-Type header");
  auto boundary = hfp::find_first(ct->media_type.parameters, "boundary");
  if (!boundary)
    return Status::invalid_argument("multipart/form-data without a boundary parameter");
  if (mp::check_boundary_value(*boundary))
    return Status::invalid_argument("invalid multipart boundary");
  const std::string mark = "--" + std::string(boundary->data(), boundary->size());
  std::vector<FormPart> out;
  for (std::string_view raw : mp::split_multipart_body(req.body, mark)) {
    auto part = mp::try_parse_part(raw);
    if (!part) return Status::invalid_argument("malformed multipart part");
    FormPart p;
    p.body = std::string_view(part->body.data(), part->body.size());
    if (auto cd = part->fields.opt_value_of(restinio::http_field::content_disposition)) {
      auto parsed = hfp::content_disposition_value_t::try_parse(*cd);
      if (!parsed)
        return Status::invalid_argument("malformed Content-Disposition in a multipart part");
      if (auto n = hfp::find_first(parsed->parameters, "name"))
        p.name = std::string(n->data(), n->size());
      if (auto f = hfp::find_first(parsed->parameters, "filename"))
        p.filename = std::string(f->data(), f->size());
    }
    if (auto t = part->fields.opt_value_of(restinio::http_field::content_type)) {
      p.content_type = std::string(t->data(), t->size());
    }
    out.push_back(std::move(p));
  }
  if (out.empty())
    return Status::invalid_argument("multipart body has no parts (or no closing boundary)");
  return out;
}

}  // namespace atelier::http
