#include "wardrobe/shared_routes.h"

#include <algorithm>
#include <cmath>

#include "core/json.h"
#include "http/problem.h"

namespace atelier::api::wardrobe_routes {

using json::round3;
using nlohmann::ordered_json;
using wardrobe::Item;

ordered_json scored_json(const std::optional<wardrobe::Scored>& s) {
  if (!s) return nullptr;
  return {{"value", s->value}, {"confidence", round3(s->confidence)}};
}

ordered_json opt_json(const std::optional<std::string>& s) {
  return s ? ordered_json(*s) : ordered_json(nullptr);
}

ordered_json item_json(const Item& it) {
  ordered_json j;
  j["id"] = it.id;
  j["name"] = it.name;
  j["brand"] = it.brand;
  j["notes"] = it.notes;
  // The effective tags: the owner's corrections over the tagger's.
  j["category"] = it.category();
  j["type"] = it.type().empty() ? ordered_json(nullptr) : ordered_json(it.type());
  j["color_family"] = it.color_family();
  ordered_json colors = ordered_json::array();
  for (const auto& c : it.auto_tags.colors) {
    colors.push_back(
        {{"hex", c.hex}, {"name", c.name}, {"family", c.family}, {"share", round3(c.share)}});
  }
  j["colors"] = colors;
  j["pattern"] = opt_json(it.pattern());
  j["formality"] = opt_json(it.formality());
  j["warmth"] = opt_json(it.warmth());
  j["season"] = it.season();
  const auto& a = it.auto_tags;
  ordered_json scores = ordered_json::object();
  for (const auto& [c, p] : a.category_scores) scores[c] = round3(p);
  ordered_json auto_tags;
  auto_tags["category"] = {{"value", a.category.value},
                           {"confidence", round3(a.category.confidence)},
                           {"scores", scores}};
  auto_tags["type"] = scored_json(a.type);
  auto_tags["color_family"] = a.color_family;
  auto_tags["pattern"] = scored_json(a.pattern);
  auto_tags["formality"] = scored_json(a.formality);
  auto_tags["warmth"] = scored_json(a.warmth);
  auto_tags["season"] =
      a.season.empty()
          ? ordered_json(nullptr)
          : ordered_json{{"value", a.season}, {"confidence", round3(a.season_confidence)}};
  auto_tags["plain_background"] = a.plain_background;
  const auto& u = it.user_tags;
  ordered_json user = ordered_json::object();
  if (u.category) user["category"] = *u.category;
  if (u.type) user["type"] = *u.type;
  if (u.color_family) user["color_family"] = *u.color_family;
  if (u.pattern) user["pattern"] = *u.pattern;
  if (u.formality) user["formality"] = *u.formality;
  if (u.warmth) user["warmth"] = *u.warmth;
  if (u.season) user["season"] = *u.season;
  j["tags"] = {{"auto", auto_tags}, {"user", user}};
  j["image"] = {{"url", "/v1/wardrobe/items/" + it.id + "/image"},
                {"content_type", it.content_type},
                {"width", it.width},
                {"height", it.height}};
  j["embedding_model"] = it.embedding_model;
  j["tag_embedding_model"] =
      it.tag_embedding_model.empty() ? ordered_json(nullptr) : ordered_json(it.tag_embedding_model);
  j["created_at"] = http::seconds_of_ms(it.created_at);
  j["updated_at"] = http::seconds_of_ms(it.updated_at);
  return j;
}

const nlohmann::json kTagFields = {
    {"category", {{"type", "string"}, {"enum", wardrobe::categories()}}},
    {"type", {{"type", "string"}, {"maxLength", 64}}},
    {"color_family", {{"type", "string"}, {"enum", wardrobe::color_families()}}},
    {"pattern", {{"type", "string"}, {"enum", wardrobe::patterns()}}},
    {"formality", {{"type", "string"}, {"enum", wardrobe::formalities()}}},
    {"warmth", {{"type", "string"}, {"enum", wardrobe::warmths()}}},
    {"season",
     {{"type", "array"}, {"items", {{"type", "string"}, {"enum", wardrobe::seasons()}}}}}};

Result<int> int_query(const http::Request& req, const char* name, int fallback, int lo, int hi) {
  ATELIER_ASSIGN_OR_RETURN(std::int64_t x, req.query_int(name, fallback, lo, hi));
  return static_cast<int>(x);
}

const nlohmann::json kItemSchema = {
    {"type", "object"},
    {"properties",
     {{"id", {{"type", "string"}}},
      {"category", {{"type", "string"}}},
      {"type", {{"type", nlohmann::json::array({"string", "null"})}}},
      {"color_family", {{"type", "string"}}},
      {"colors", {{"type", "array"}}},
      {"tags", {{"type", "object"}}}}}};

ordered_json scored_items(const std::vector<wardrobe::SimilarItem>& found) {
  ordered_json arr = ordered_json::array();
  for (const auto& s : found) {
    ordered_json j = item_json(s.item);
    j["score"] = round3(s.score);
    arr.push_back(std::move(j));
  }
  return arr;
}

ordered_json evaluation_json(const wardrobe::Evaluation& e) {
  ordered_json j;
  j["score"] = round3(e.score);
  j["verdict"] = e.verdict;
  j["aspects"] = {{"color_harmony", round3(e.aspects.color)},
                  {"formality", round3(e.aspects.formality)},
                  {"structure", round3(e.aspects.structure)},
                  {"visual", round3(e.aspects.visual)}};
  j["lowered_by"] = e.lowered_by.empty() ? ordered_json(nullptr) : ordered_json(e.lowered_by);
  j["explanation"] = e.explanation;
  return j;
}

Result<std::vector<std::string>> id_list(const nlohmann::json& body, const char* name) {
  std::vector<std::string> out;
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_array())
    return Status::invalid_argument(std::string("'") + name + "' must be a list");
  if (it->size() > 100) return Status::invalid_argument(std::string("'") + name + "' is too long");
  for (const auto& x : *it) {
    if (!x.is_string() || x.get_ref<const std::string&>().size() > 64)
      return Status::invalid_argument(std::string("'") + name + "' must hold item ids");
    out.push_back(x.get<std::string>());
  }
  return out;
}

Result<std::optional<double>> number_field(const nlohmann::json& obj, const char* name) {
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return std::optional<double>();
  if (!it->is_number())
    return Status::invalid_argument(std::string("'") + name + "' must be a number");
  return std::optional(it->get<double>());
}

// Examples for the OpenAPI document, shaped as the routes answer (the HTTP
// test compares their keys with real answers).
const nlohmann::json kItemExample = nlohmann::json::parse(R"({
  "id": "wi_6a182d9d610e44383a1901aa", "name": "", "brand": "", "notes": "",
  "category": "bag", "type": "shoulder bag", "color_family": "black",
  "colors": [{"hex": "#111112", "name": "black", "family": "black", "share": 0.589},
             {"hex": "#434344", "name": "darkslategray", "family": "grey", "share": 0.103}],
  "pattern": null, "formality": "smart casual", "warmth": null, "season": [],
  "tags": {"auto": {"category": {"value": "bag", "confidence": 0.97,
                                 "scores": {"top": 0.006, "bottom": 0.002, "dress": 0.001,
                                            "outerwear": 0.01, "footwear": 0, "bag": 0.97,
                                            "accessory": 0.011}},
                    "type": {"value": "shoulder bag", "confidence": 0.837},
                    "color_family": "black", "pattern": null,
                    "formality": {"value": "smart casual", "confidence": 0.837},
                    "warmth": null, "season": null, "plain_background": true},
           "user": {}},
  "image": {"url": "/v1/wardrobe/items/wi_6a182d9d610e44383a1901aa/image",
            "content_type": "image/jpeg", "width": 224, "height": 224},
  "embedding_model": "mobilenet-v2", "tag_embedding_model": "glove-sif-100d",
  "created_at": 1795685274, "updated_at": 1795685274
})");

nlohmann::json with(nlohmann::json j, const nlohmann::json& more) {
  j.update(more);
  return j;
}

ordered_json feedback_json(const wardrobe::Feedback& f) {
  ordered_json ctx = ordered_json::object();
  if (f.context.occasion) ctx["occasion"] = *f.context.occasion;
  if (f.context.season) ctx["season"] = *f.context.season;
  if (f.context.source) ctx["source"] = *f.context.source;
  return {{"id", f.id},
          {"event", f.event},
          {"item_ids", f.item_ids},
          {"context", ctx},
          {"created_at", http::seconds_of_ms(f.created_at)}};
}

}  // namespace atelier::api::wardrobe_routes
