#include "wardrobe/fields.h"

#include <algorithm>
#include <initializer_list>
#include <utility>

#include "core/ids.h"
#include "core/json.h"

namespace atelier::wardrobe {
namespace {

bool one_of(const std::string& v, const std::vector<std::string>& set) {
  return std::find(set.begin(), set.end(), v) != set.end();
}

std::string joined(const std::vector<std::string>& set) {
  std::string s;
  for (const auto& x : set) s += (s.empty() ? "" : ", ") + x;
  return s;
}

const char* const kTagNames[] = {"category",  "type",   "color_family", "pattern",
                                 "formality", "warmth", "season"};

Result<std::vector<std::string>> parse_seasons(const nlohmann::json& given) {
  const auto too_many = [] {
    return Status::invalid_argument("'season' holds at most " + std::to_string(kMaxSeasonValues) +
                                    " values");
  };
  nlohmann::json value = given;
  if (value.is_string() && value.get_ref<const std::string&>().starts_with("[")) {
    // A form field holding a JSON list.
    json::Limits limits;
    limits.max_depth = 2;
    limits.max_bytes = 4096;
    auto parsed = json::parse(value.get_ref<const std::string&>(), limits, "'season'");
    if (!parsed.is_ok() || !parsed->is_array())
      return Status::invalid_argument("'season' must be a string or a list of strings");
    value = std::move(parsed).value();
  }
  std::vector<std::string> out;
  const auto add = [&out](std::string v) {
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(std::move(v));
  };
  if (value.is_string()) {
    const std::string& all = value.get_ref<const std::string&>();
    if (all.size() > 128) return too_many();
    std::string part;
    for (char c : all + ",") {
      if (c == ',') {
        if (!part.empty()) add(part);
        part.clear();
      } else if (c != ' ') {
        part += c;
      }
    }
  } else if (value.is_array()) {
    if (value.size() > kMaxSeasonValues) return too_many();
    for (const auto& x : value) {
      if (!x.is_string() || x.get_ref<const std::string&>().size() > kMaxTagBytes)
        return Status::invalid_argument("'season' must hold season names");
      add(x.get<std::string>());
    }
  } else {
    return Status::invalid_argument("'season' must be a string or a list of strings");
  }
  return out;
}

}  // namespace

Status check_one_of(const std::optional<std::string>& v, const char* field,
                    const std::vector<std::string>& set) {
  if (v && !one_of(*v, set))
    return Status::invalid_argument(std::string("'") + field + "' must be one of: " + joined(set));
  return Status::ok();
}

const std::vector<std::string>& color_families() {
  static const std::vector<std::string> k = {"beige", "black", "blue",  "brown",  "cyan", "green",
                                             "grey",  "navy",  "olive", "orange", "pink", "purple",
                                             "red",   "teal",  "white", "yellow"};
  return k;
}

Result<std::optional<std::string>> text_field(const nlohmann::json& v, const char* name,
                                              std::size_t max) {
  if (v.is_null()) return std::optional<std::string>();
  if (!v.is_string()) return Status::invalid_argument(std::string("'") + name + "' must be text");
  const std::string& s = v.get_ref<const std::string&>();
  if (s.size() > max || !is_utf8(s)) {
    return Status::invalid_argument(std::string("'") + name + "' must be at most " +
                                    std::to_string(max) + " bytes of UTF-8");
  }
  return std::optional(s);
}

Result<UserTags> parse_user_tags(const nlohmann::json& fields) {
  UserTags t;
  if (!fields.is_object()) return t;
  for (auto [name, slot] :
       std::initializer_list<std::pair<const char*, std::optional<std::string>*>>{
           {"category", &t.category},
           {"type", &t.type},
           {"color_family", &t.color_family},
           {"pattern", &t.pattern},
           {"formality", &t.formality},
           {"warmth", &t.warmth}}) {
    auto it = fields.find(name);
    if (it == fields.end() || it->is_null()) continue;
    ATELIER_ASSIGN_OR_RETURN(*slot, text_field(*it, name, kMaxTagBytes));
  }
  if (auto it = fields.find("season"); it != fields.end() && !it->is_null()) {
    ATELIER_ASSIGN_OR_RETURN(t.season, parse_seasons(*it));
  }
  return t;
}

Status validate(const UserTags& t) {
  ATELIER_RETURN_IF_ERROR(check_one_of(t.category, "category", categories()));
  ATELIER_RETURN_IF_ERROR(check_one_of(t.pattern, "pattern", patterns()));
  ATELIER_RETURN_IF_ERROR(check_one_of(t.formality, "formality", formalities()));
  ATELIER_RETURN_IF_ERROR(check_one_of(t.warmth, "warmth", warmths()));
  ATELIER_RETURN_IF_ERROR(check_one_of(t.color_family, "color_family", color_families()));
  if (t.season) {
    if (t.season->size() > seasons().size())
      return Status::invalid_argument("'season' names each season at most once");
    for (const auto& s : *t.season) ATELIER_RETURN_IF_ERROR(check_one_of(s, "season", seasons()));
  }
  if (t.type) {
    if (t.type->empty() || t.type->size() > kMaxTagBytes || !is_utf8(*t.type))
      return Status::invalid_argument("'type' must be 1 to 64 bytes of text");
    for (unsigned char c : *t.type)
      if (c < 0x20 || c == 0x7f) return Status::invalid_argument("'type' has control characters");
  }
  return Status::ok();
}

Result<ItemPatch> parse_item_patch(const nlohmann::json& body) {
  if (!body.is_object()) return Status::invalid_argument("the body must be a JSON object");
  ItemPatch p;
  for (auto it = body.begin(); it != body.end(); ++it) {
    const std::string& k = it.key();
    const nlohmann::json& v = it.value();
    if (k == "name" || k == "brand" || k == "notes") {
      ATELIER_ASSIGN_OR_RETURN(
          auto s, text_field(v, k.c_str(), k == "notes" ? kMaxNotesBytes : kMaxNameBytes));
      (k == "name" ? p.name : k == "brand" ? p.brand : p.notes) = s.value_or("");
    } else if (std::find_if(std::begin(kTagNames), std::end(kTagNames),
                            [&](const char* n) { return k == n; }) != std::end(kTagNames)) {
      if (v.is_null()) p.reset.push_back(k);
    } else {
      return Status::invalid_argument("unknown field '" + cut_utf8(k, 64) + "'");
    }
  }
  ATELIER_ASSIGN_OR_RETURN(p.set, parse_user_tags(body));
  ATELIER_RETURN_IF_ERROR(validate(p.set));
  return p;
}

}  // namespace atelier::wardrobe
