#include "http/router.h"

namespace atelier::http {
namespace {

// Yields the next non-empty '/'-separated segment of `path` from `*pos`.
bool next_segment(std::string_view path, std::size_t* pos, std::string_view* seg) {
  std::size_t i = *pos;
  while (i < path.size() && path[i] == '/') ++i;
  if (i >= path.size()) return false;
  std::size_t j = path.find('/', i);
  if (j == std::string_view::npos) j = path.size();
  *seg = path.substr(i, j - i);
  *pos = j;
  return true;
}

std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  std::string_view seg;
  while (next_segment(path, &pos, &seg)) out.emplace_back(seg);
  return out;
}

bool is_param(const std::string& seg) {
  return seg.size() > 2 && seg.front() == '{' && seg.back() == '}';
}

}  // namespace

void Router::add(RouteSpec spec) {
  auto segs = split(spec.path);
  bool templated = false;
  for (auto& s : segs) templated |= is_param(s);
  const std::size_t idx = routes_.size();
  if (templated) {
    templated_.push_back(idx);
  } else {
    static_[spec.path].push_back(idx);
  }
  routes_.push_back(std::move(spec));
  segments_.push_back(std::move(segs));
}

bool Router::match_template(const std::vector<std::string>& tmpl, std::string_view path,
                            std::map<std::string, std::string>* params) {
  std::size_t pos = 0, k = 0;
  std::string_view seg;
  while (next_segment(path, &pos, &seg)) {
    if (k >= tmpl.size()) return false;
    const auto& t = tmpl[k++];
    if (is_param(t)) {
      (*params)[t.substr(1, t.size() - 2)] = url_decode(seg, false);
    } else if (t != seg) {
      return false;
    }
  }
  return k == tmpl.size();
}

Match Router::match(Method m, std::string_view path) const {
  Match out;
  auto consider = [&](std::size_t idx, std::map<std::string, std::string>&& params) {
    const auto& r = routes_[idx];
    const Method want = m == Method::head ? Method::get : m;
    if (r.method == want) {
      if (out.kind != Match::found) {
        out.kind = Match::found;
        out.route = &r;
        out.params = std::move(params);
      }
    } else if (out.kind != Match::found) {
      out.kind = Match::method_not_allowed;
    }
    if (out.allow.find(method_name(r.method)) == std::string::npos) {
      if (!out.allow.empty()) out.allow += ", ";
      out.allow += method_name(r.method);
    }
  };
  if (auto it = static_.find(std::string(path)); it != static_.end()) {
    for (auto idx : it->second) consider(idx, {});
    if (out.kind == Match::found) return out;
  }
  for (std::size_t idx : templated_) {
    std::map<std::string, std::string> params;
    if (match_template(segments_[idx], path, &params)) consider(idx, std::move(params));
  }
  return out;
}

}  // namespace atelier::http
