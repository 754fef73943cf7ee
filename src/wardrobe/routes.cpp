// /v1/wardrobe/items: upload (auto-tagged and embedded), list with filters,
// read, correct (PATCH), delete, the photo, and similar items.
#include "wardrobe/routes.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "core/ids.h"
#include "core/json.h"
#include "http/image_input.h"
#include "http/paging.h"
#include "http/problem.h"

namespace atelier::api {

using http::Access;
using http::Exec;
using http::Method;
using http::QueryParam;
using http::RequestContext;
using http::Response;
using nlohmann::ordered_json;
using wardrobe::Item;

namespace {

using json::round3;

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
  j["created_at"] = it.created_at;
  j["updated_at"] = it.updated_at;
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
  "created_at": 1795685274905, "updated_at": 1795685274905
})");

nlohmann::json with(nlohmann::json j, const nlohmann::json& more) {
  j.update(more);
  return j;
}

// The inline items of POST /v1/outfits/evaluate: each photo decoded under the
// image limits, its tags and name checked, then evaluated.
Result<wardrobe::Evaluation> evaluate_inline(ApiDeps& d, wardrobe::OutfitService& svc,
                                             const RequestContext& ctx, const nlohmann::json& arr) {
  std::vector<wardrobe::InlineItem> items;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const auto& x = arr[i];
    const std::string where = "items[" + std::to_string(i) + "]";
    if (!x.is_object() || !x.contains("image") || !x["image"].is_string())
      return Status::invalid_argument(where + " needs an 'image' (base64)");
    ATELIER_ASSIGN_OR_RETURN(std::string bytes,
                             api::decode_base64_image(x["image"], where + ".image"));
    ATELIER_ASSIGN_OR_RETURN(
        image::Image img, image::decode(bytes, image_limits(d, d.config.max_resolution, ctx.work)));
    wardrobe::InlineItem item;
    item.bgr = std::move(img.bgr);
    ATELIER_ASSIGN_OR_RETURN(item.tags, wardrobe::parse_user_tags(x));
    ATELIER_RETURN_IF_ERROR(wardrobe::validate(item.tags));
    if (x.contains("name")) {
      ATELIER_ASSIGN_OR_RETURN(auto n, wardrobe::text_field(x["name"], "name", 200));
      item.name = n.value_or("");
    }
    items.push_back(std::move(item));
  }
  return svc.evaluate_inline(ctx.identity.anonymous() ? "" : ctx.identity.id, items, ctx.work);
}

}  // namespace

namespace {

// The handlers of add_outfit_routes(), named after their routes' operation ids,
// over what they need.
struct OutfitHandlers {
  ApiDeps& d;
  wardrobe::OutfitService& svc;

  Result<Response> handle_evaluate_outfit(const RequestContext& ctx) const;
  Result<Response> handle_recommend_outfits(const RequestContext& ctx) const;
};

Result<Response> OutfitHandlers::handle_evaluate_outfit(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto body, http::parse_json_body(ctx.req));
  if (!body.is_object()) return Status::invalid_argument("the body must be a JSON object");
  const bool by_id = body.contains("item_ids"), inline_items = body.contains("items");
  if (by_id == inline_items) return Status::invalid_argument("give either 'item_ids' or 'items'");
  wardrobe::Evaluation e;
  if (by_id) {
    ATELIER_ASSIGN_OR_RETURN(auto ids, id_list(body, "item_ids"));
    ATELIER_ASSIGN_OR_RETURN(e, svc.evaluate_items(ctx.identity.id, ids, ctx.work));
  } else {
    const auto& arr = body["items"];
    if (!arr.is_array() || arr.size() < wardrobe::kMinOutfitItems ||
        arr.size() > wardrobe::kMaxOutfitItems)
      return Status::invalid_argument("'items' must hold 2 to 9 items");
    // Cost follows the work: each photo is decoded and tagged as an
    // upload is, so each costs a unit more (refunded should this fail).
    ATELIER_RETURN_IF_ERROR(ctx.charge->reserve(static_cast<std::int64_t>(arr.size())));
    ATELIER_ASSIGN_OR_RETURN(e, evaluate_inline(d, svc, ctx, arr));
  }
  return Response::json_ordered(200, evaluation_json(e));
}

Result<Response> OutfitHandlers::handle_recommend_outfits(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto body, http::parse_json_body(ctx.req));
  if (!body.is_object()) return Status::invalid_argument("the body must be a JSON object");
  static const std::set<std::string> known = {"anchor_item_ids",
                                              "exclude_item_ids",
                                              "occasion",
                                              "season",
                                              "weather",
                                              "count",
                                              "seed",
                                              "fill",
                                              "k"};
  for (auto& [k, v] : body.items())
    if (!known.count(k)) return Status::invalid_argument("unknown field '" + k + "'");
  ATELIER_ASSIGN_OR_RETURN(auto anchors, id_list(body, "anchor_item_ids"));
  if (body.contains("fill")) {
    const auto& f = body["fill"];
    if (!f.is_object() || !f.contains("category") || !f["category"].is_string())
      return Status::invalid_argument("'fill' needs a 'category'");
    wardrobe::FillRequest fr;
    fr.anchor_item_ids = anchors;
    fr.category = f["category"];
    if (f.contains("type") && !f["type"].is_null()) {
      ATELIER_ASSIGN_OR_RETURN(fr.type, wardrobe::text_field(f["type"], "fill.type", 64));
    }
    ATELIER_ASSIGN_OR_RETURN(auto k, number_field(body, "k"));
    if (k) {
      if (*k != std::floor(*k)) return Status::invalid_argument("'k' must be an integer");
      fr.k = static_cast<int>(std::clamp(*k, -1.0, 1000.0));
    }
    ATELIER_ASSIGN_OR_RETURN(auto ranked, svc.fill(ctx.identity.id, fr, ctx.work));
    ordered_json arr = ordered_json::array();
    for (const auto& x : ranked)
      arr.push_back(
          {{"id", x.item_id}, {"score", round3(x.score)}, {"explanation", x.explanation}});
    return Response::json_ordered(200, {{"items", arr}});
  }
  wardrobe::RecommendRequest rr;
  rr.anchor_item_ids = anchors;
  ATELIER_ASSIGN_OR_RETURN(rr.exclude_item_ids, id_list(body, "exclude_item_ids"));
  for (auto [name, slot] :
       std::initializer_list<std::pair<const char*, std::optional<std::string>*>>{
           {"occasion", &rr.occasion}, {"season", &rr.season}}) {
    auto it = body.find(name);
    if (it == body.end() || it->is_null()) continue;
    ATELIER_ASSIGN_OR_RETURN(*slot, wardrobe::text_field(*it, name, 32));
  }
  if (auto w = body.find("weather"); w != body.end() && !w->is_null()) {
    if (!w->is_object()) return Status::invalid_argument("'weather' must be an object");
    ATELIER_ASSIGN_OR_RETURN(rr.weather.temperature_c, number_field(*w, "temperature_c"));
    ATELIER_ASSIGN_OR_RETURN(rr.weather.precipitation, number_field(*w, "precipitation"));
  }
  ATELIER_ASSIGN_OR_RETURN(auto count, number_field(body, "count"));
  if (count) {
    if (*count != std::floor(*count)) return Status::invalid_argument("'count' must be an integer");
    rr.count = static_cast<int>(std::clamp(*count, -1.0, 1000.0));
  }
  if (auto sd = body.find("seed"); sd != body.end() && !sd->is_null()) {
    if (!sd->is_number_unsigned())
      return Status::invalid_argument("'seed' must be a non-negative integer");
    rr.seed = sd->get<std::uint64_t>();
  }
  ATELIER_ASSIGN_OR_RETURN(auto rec, svc.recommend(ctx.identity.id, rr, ctx.work));
  ordered_json arr = ordered_json::array();
  for (const auto& o : rec.outfits) {
    ordered_json j;
    j["item_ids"] = o.item_ids;
    ordered_json e = evaluation_json(o.evaluation);  // named: items() must not outlive it
    for (auto& [k, v] : e.items()) j[k] = std::move(v);
    arr.push_back(std::move(j));
  }
  ordered_json out;
  out["outfits"] = arr;
  out["note"] = rec.note.empty() ? ordered_json(nullptr) : ordered_json(rec.note);
  return Response::json_ordered(200, out);
}

}  // namespace

void add_outfit_routes(http::Router& router, ApiDeps& d, wardrobe::OutfitService& svc) {
  const auto h = std::make_shared<const OutfitHandlers>(OutfitHandlers{d, svc});
  router.add({
      .method = Method::post,
      .path = "/v1/outfits/evaluate",
      .operation_id = "evaluate_outfit",
      .summary = "How well 2 to 9 items go together: the caller's items by id, or photos sent "
                 "inline (base64, with any tags known); score, verdict, aspect scores and an "
                 "explanation",
      .tag = "outfits",
      .access = Access::user,
      .cost = 2,
      .exec = Exec::inference_pool,
      .request_schema =
          {{"type", "object"},
           {"properties",
            {{"item_ids",
              {{"type", "array"},
               {"items", {{"type", "string"}}},
               {"minItems", 2},
               {"maxItems", 9}}},
             {"items",
              {{"type", "array"},
               {"minItems", 2},
               {"maxItems", 9},
               {"items",
                {{"type", "object"},
                 {"required", {"image"}},
                 {"properties", {{"image", {{"type", "string"}, {"format", "byte"}}}}}}}}}}}},
      .request_example = {{"item_ids",
                           {"wi_6a182d9d610e44383a1901aa", "wi_68af7a1edead99e3d08d559b",
                            "wi_d8c0c0751be7a8c57033cf29"}}},
      .response_example = nlohmann::json::parse(R"({"score": 0.742, "verdict": "goes well together",
        "aspects": {"color_harmony": 0.706, "formality": 0.75, "structure": 1, "visual": 0.512},
        "explanation": ["The black blouse and the black shoulder bag are both black.",
                        "The only accent colour comes from the blue jeans; the rest is neutral.",
                        "The blue jeans are casual while the black blouse is smart casual."]})"),
      .errors = {404, 413, 415},
      .handler = http::bind_handler(h, &OutfitHandlers::handle_evaluate_outfit),
  });
  router.add({
      .method = Method::post,
      .path = "/v1/outfits/recommend",
      .operation_id = "recommend_outfits",
      .summary = "Outfits from the caller's wardrobe (anchors, occasion, season, weather, count, "
                 "exclusions, seed), or with 'fill' the caller's items of a category ranked by "
                 "how well each completes the anchors",
      .tag = "outfits",
      .access = Access::user,
      .cost = 3,
      .exec = Exec::worker_pool,
      .request_schema =
          {{"type", "object"},
           {"properties",
            {{"anchor_item_ids", {{"type", "array"}, {"items", {{"type", "string"}}}}},
             {"exclude_item_ids", {{"type", "array"}, {"items", {{"type", "string"}}}}},
             {"occasion",
              {{"type", "string"}, {"enum", {"casual", "work", "formal", "party", "sport"}}}},
             {"season", {{"type", "string"}, {"enum", wardrobe::seasons()}}},
             {"weather",
              {{"type", "object"},
               {"properties",
                {{"temperature_c", {{"type", "number"}}},
                 {"precipitation", {{"type", "number"}, {"minimum", 0}, {"maximum", 1}}}}}}},
             {"count", {{"type", "integer"}, {"minimum", 1}, {"maximum", 20}, {"default", 5}}},
             {"seed", {{"type", "integer"}, {"minimum", 0}}},
             {"fill",
              {{"type", "object"},
               {"required", {"category"}},
               {"properties",
                {{"category", {{"type", "string"}, {"enum", wardrobe::categories()}}},
                 {"type", {{"type", "string"}}}}}}},
             {"k", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}, {"default", 10}}}}}},
      .request_example = nlohmann::json::parse(
          R"({"occasion": "work", "weather": {"temperature_c": 12, "precipitation": 0.2},
        "count": 2, "seed": 7})"),
      .response_example = nlohmann::json::parse(
          R"({"outfits": [{"item_ids": ["wi_5e0c7d1f2a9b4c3d8e7f6a5b", "wi_0a1b2c3d4e5f60718293a4b5",
                                                "wi_d8c0c0751be7a8c57033cf29"],
                                   "score": 0.81, "verdict": "goes well together",
                                   "aspects": {"color_harmony": 0.74, "formality": 1, "structure": 1, "visual": 0.53},
                                   "explanation": ["The white shirt and the navy trousers are both smart casual."]}],
        "note": "only 1 outfits differ enough from each other"})"),
      .errors = {404},
      .handler = http::bind_handler(h, &OutfitHandlers::handle_recommend_outfits),
  });
}

namespace {

// The handlers of add_wardrobe_routes(), named after their routes' operation ids,
// over what they need.
struct WardrobeHandlers {
  ApiDeps& d;
  wardrobe::WardrobeService& svc;

  Result<Response> handle_create_wardrobe_item(const RequestContext& ctx) const;
  Result<Response> handle_list_wardrobe_items(const RequestContext& ctx) const;
  Result<Response> handle_get_wardrobe_item(const RequestContext& ctx) const;
  Result<Response> handle_update_wardrobe_item(const RequestContext& ctx) const;
  Result<Response> handle_delete_wardrobe_item(const RequestContext& ctx) const;
  Result<Response> handle_get_wardrobe_item_image(const RequestContext& ctx) const;
  Result<Response> handle_similar_wardrobe_items(const RequestContext& ctx) const;
  Result<Response> handle_search_wardrobe(const RequestContext& ctx) const;
};

Result<Response> WardrobeHandlers::handle_create_wardrobe_item(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(api::ImageRequest in,
                           read_images(ctx.req, 1, url_policy(d.config), ctx.work));
  ATELIER_ASSIGN_OR_RETURN(auto imgs,
                           decode_all(in, image_limits(d, d.config.max_resolution, ctx.work)));
  // Options may come as query parameters too.
  nlohmann::json fields = in.fields;
  for (const char* k : {"name", "brand", "notes", "category", "type", "color_family", "pattern",
                        "formality", "warmth", "season"}) {
    std::string v;
    if (!fields.contains(k) && in.option(ctx.req, k, &v)) fields[k] = v;
  }
  wardrobe::NewItem n;
  n.owner = ctx.identity.id;
  ATELIER_ASSIGN_OR_RETURN(n.user_tags, wardrobe::parse_user_tags(fields));
  for (auto [name, slot, max] :
       std::initializer_list<std::tuple<const char*, std::string*, std::size_t>>{
           {"name", &n.name, 200}, {"brand", &n.brand, 200}, {"notes", &n.notes, 2000}}) {
    auto it = fields.find(name);
    if (it == fields.end()) continue;
    ATELIER_ASSIGN_OR_RETURN(auto v, wardrobe::text_field(*it, name, max));
    *slot = v.value_or("");
  }
  n.bytes = std::move(in.images[0]);
  n.content_type = std::string(image::format_mime(imgs[0].header.format));
  ATELIER_ASSIGN_OR_RETURN(Item it, svc.add(n, imgs[0], ctx.work));
  return Response::json_ordered(201, item_json(it));
}

Result<Response> WardrobeHandlers::handle_list_wardrobe_items(const RequestContext& ctx) const {
  wardrobe::ItemFilter f;
  std::string v;
  for (auto [name, slot] :
       std::initializer_list<std::pair<const char*, std::optional<std::string>*>>{
           {"category", &f.category},
           {"type", &f.type},
           {"color_family", &f.color_family},
           {"season", &f.season},
           {"q", &f.text}}) {
    if (ctx.req.query_param(name, &v) && !v.empty()) {
      if (v.size() > 200 || !is_utf8(v))
        return Status::invalid_argument(std::string("'") + name + "' is too long");
      *slot = v;
    }
  }
  ATELIER_ASSIGN_OR_RETURN(auto cursor, http::page_start(ctx, *d.cursors, "wardrobe_items"));
  ATELIER_ASSIGN_OR_RETURN(int limit, int_query(ctx.req, "limit", 20, 1, 100));
  ATELIER_ASSIGN_OR_RETURN(auto page, svc.list(ctx.identity.id, f, limit, cursor, ctx.work));
  ordered_json arr = ordered_json::array();
  for (const auto& x : page.items) arr.push_back(item_json(x));
  ordered_json out;
  out["items"] = arr;
  out["next_cursor"] = http::next_cursor(ctx, *d.cursors, "wardrobe_items", page.next);
  return Response::json_ordered(200, out);
}

Result<Response> WardrobeHandlers::handle_get_wardrobe_item(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(Item it,
                           svc.get(ctx.identity.id, ctx.req.path_params.at("id"), ctx.work));
  return Response::json_ordered(200, item_json(it));
}

Result<Response> WardrobeHandlers::handle_update_wardrobe_item(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto body, http::parse_json_body(ctx.req));
  ATELIER_ASSIGN_OR_RETURN(wardrobe::ItemPatch p, wardrobe::parse_item_patch(body));
  ATELIER_ASSIGN_OR_RETURN(Item it,
                           svc.update(ctx.identity.id, ctx.req.path_params.at("id"), p, ctx.work));
  return Response::json_ordered(200, item_json(it));
}

Result<Response> WardrobeHandlers::handle_delete_wardrobe_item(const RequestContext& ctx) const {
  ATELIER_RETURN_IF_ERROR(svc.remove(ctx.identity.id, ctx.req.path_params.at("id"), ctx.work));
  return Response::no_content();
}

Result<Response> WardrobeHandlers::handle_get_wardrobe_item_image(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto img,
                           svc.image(ctx.identity.id, ctx.req.path_params.at("id"), ctx.work));
  Response r = Response::text(200, std::move(img.first), img.second);
  r.set_header("Cache-Control", "private, max-age=3600");
  return r;
}

Result<Response> WardrobeHandlers::handle_similar_wardrobe_items(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(int k, int_query(ctx.req, "k", 10, 1, 100));
  std::string by = "image";
  ctx.req.query_param("by", &by);
  if (by != "image" && by != "tags") return Status::invalid_argument("'by' must be image or tags");
  ATELIER_ASSIGN_OR_RETURN(
      auto found,
      svc.similar(ctx.identity.id, ctx.req.path_params.at("id"), k,
                  by == "tags" ? wardrobe::Likeness::tags : wardrobe::Likeness::image, ctx.work));
  return Response::json_ordered(200, {{"items", scored_items(found)}});
}

Result<Response> WardrobeHandlers::handle_search_wardrobe(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(int k, int_query(ctx.req, "k", 10, 1, 100));
  std::string q;
  ctx.req.query_param("q", &q);
  ATELIER_ASSIGN_OR_RETURN(auto found, svc.search(ctx.identity.id, q, k, ctx.work));
  return Response::json_ordered(200, {{"items", scored_items(found)}});
}

}  // namespace

void add_wardrobe_routes(http::Router& router, ApiDeps& d, wardrobe::WardrobeService& svc) {
  nlohmann::json upload_fields = kTagFields;
  upload_fields["name"] = {{"type", "string"}, {"maxLength", 200}};
  upload_fields["brand"] = {{"type", "string"}, {"maxLength", 200}};
  upload_fields["notes"] = {{"type", "string"}, {"maxLength", 2000}};
  const auto h = std::make_shared<const WardrobeHandlers>(WardrobeHandlers{d, svc});
  router.add({
      .method = Method::post,
      .path = "/v1/wardrobe/items",
      .operation_id = "create_wardrobe_item",
      .summary = "Add an item from its photo (multipart, image/* or base64 JSON): auto-tagged "
                 "(category, type, colours, pattern, formality, warmth, season) and embedded; "
                 "tags given here are kept as the owner's",
      .tag = "wardrobe",
      .access = Access::user,
      .cost = 2,
      .exec = Exec::inference_pool,
      .request_body = image_request_body(upload_fields, false),
      .response_schema = kItemSchema,
      .response_example = kItemExample,
      .success_status = 201,
      .errors = {413, 415, 503},
      .handler = http::bind_handler(h, &WardrobeHandlers::handle_create_wardrobe_item),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/wardrobe/items",
      .operation_id = "list_wardrobe_items",
      .summary = "The caller's items, newest first, filtered by category, type, colour family, "
                 "season or text (cursor pagination)",
      .tag = "wardrobe",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_example =
          nlohmann::json{{"items", {kItemExample}},
                         {"next_cursor", "1795685274905.wi_6a182d9d610e44383a1901aa"}},
      .query = {QueryParam{"category", "one of the categories", {{"type", "string"}}},
                QueryParam{"type", "exact type, e.g. jeans", {{"type", "string"}}},
                QueryParam{"color_family", "dominant colour family", {{"type", "string"}}},
                QueryParam{"season", "spring, summer, autumn or winter", {{"type", "string"}}},
                QueryParam{"q", "text in name, brand, notes or type", {{"type", "string"}}},
                QueryParam{"limit", "1-100, default 20", {{"type", "integer"}}},
                http::cursor_param()},
      .handler = http::bind_handler(h, &WardrobeHandlers::handle_list_wardrobe_items),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/wardrobe/items/{id}",
      .operation_id = "get_wardrobe_item",
      .summary = "One item: effective tags, auto tags with confidences, the owner's corrections",
      .tag = "wardrobe",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_schema = kItemSchema,
      .response_example = kItemExample,
      .errors = {404},
      .handler = http::bind_handler(h, &WardrobeHandlers::handle_get_wardrobe_item),
  });
  nlohmann::json patch_props = kTagFields;
  patch_props["name"] = {{"type", "string"}, {"maxLength", 200}};
  patch_props["brand"] = {{"type", "string"}, {"maxLength", 200}};
  patch_props["notes"] = {{"type", "string"}, {"maxLength", 2000}};
  router.add({
      .method = Method::patch,
      .path = "/v1/wardrobe/items/{id}",
      .operation_id = "update_wardrobe_item",
      .summary = "Correct tags or rename: a value sets the owner's tag (it wins over the auto tag "
                 "from now on), null drops it so the auto tag shows again",
      .tag = "wardrobe",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .request_schema = {{"type", "object"}, {"properties", patch_props}},
      .response_schema = kItemSchema,
      .request_example = {{"name", "black work bag"}, {"category", "bag"}, {"pattern", nullptr}},
      .response_example = with(
          kItemExample, {{"name", "black work bag"},
                         {"tags", with(kItemExample["tags"], {{"user", {{"category", "bag"}}}})}}),
      .errors = {404},
      .handler = http::bind_handler(h, &WardrobeHandlers::handle_update_wardrobe_item),
  });
  router.add({
      .method = Method::del,
      .path = "/v1/wardrobe/items/{id}",
      .operation_id = "delete_wardrobe_item",
      .summary = "Delete an item and, unless another item uses it, its photo",
      .tag = "wardrobe",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_content_type = "",
      .success_status = 204,
      .errors = {404},
      .handler = http::bind_handler(h, &WardrobeHandlers::handle_delete_wardrobe_item),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/wardrobe/items/{id}/image",
      .operation_id = "get_wardrobe_item_image",
      .summary = "The item's photo as uploaded",
      .tag = "wardrobe",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_content_type = "image/*",
      .errors = {404},
      .handler = http::bind_handler(h, &WardrobeHandlers::handle_get_wardrobe_item_image),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/wardrobe/items/{id}/similar",
      .operation_id = "similar_wardrobe_items",
      .summary = "The caller's items that look most like this one (cosine of image embeddings), "
                 "or with by=tags whose tags read most like its tags (text embeddings)",
      .tag = "wardrobe",
      .access = Access::user,
      .cost = 1,
      .exec = Exec::worker_pool,
      .response_example = nlohmann::json{{"items", {with(kItemExample, {{"score", 0.439}})}}},
      .errors = {404},
      .query = {QueryParam{"k", "1-100, default 10", {{"type", "integer"}}},
                QueryParam{"by",
                           "image (default): the photos' looks; tags: the tags' words",
                           {{"type", "string"}, {"enum", {"image", "tags"}}}}},
      .handler = http::bind_handler(h, &WardrobeHandlers::handle_similar_wardrobe_items),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/wardrobe/search",
      .operation_id = "search_wardrobe",
      .summary = "The caller's items whose tags read most like a text ('navy blazer', 'something "
                 "warm for the evening'): cosine of text embeddings of the query and of each "
                 "item's tags, colours, name, brand and notes",
      .tag = "wardrobe",
      .access = Access::user,
      .cost = 1,
      .exec = Exec::worker_pool,
      .response_example = nlohmann::json{{"items", {with(kItemExample, {{"score", 0.817}})}}},
      .errors = {503},
      .query = {QueryParam{"q", "the text, 1-500 bytes", {{"type", "string"}}, true},
                QueryParam{"k", "1-100, default 10", {{"type", "integer"}}}},
      .handler = http::bind_handler(h, &WardrobeHandlers::handle_search_wardrobe),
  });
}

namespace {

ordered_json feedback_json(const wardrobe::Feedback& f) {
  ordered_json ctx = ordered_json::object();
  if (f.context.occasion) ctx["occasion"] = *f.context.occasion;
  if (f.context.season) ctx["season"] = *f.context.season;
  if (f.context.source) ctx["source"] = *f.context.source;
  return {{"id", f.id},
          {"event", f.event},
          {"item_ids", f.item_ids},
          {"context", ctx},
          {"created_at", f.created_at}};
}

}  // namespace

namespace {

// The handlers of add_feedback_routes(), named after their routes' operation ids,
// over what they need.
struct FeedbackHandlers {
  wardrobe::OutfitService& svc;

  Result<Response> handle_add_feedback(const RequestContext& ctx) const;
  Result<Response> handle_get_preferences(const RequestContext& ctx) const;
};

Result<Response> FeedbackHandlers::handle_add_feedback(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto body, http::parse_json_body(ctx.req));
  if (!body.is_object()) return Status::invalid_argument("the body must be a JSON object");
  if (!body.contains("event") || !body["event"].is_string())
    return Status::invalid_argument("'event' is required");
  std::vector<std::string> ids;
  if (body.contains("item_id") == body.contains("item_ids"))
    return Status::invalid_argument("give either 'item_id' or 'item_ids'");
  if (body.contains("item_id")) {
    ATELIER_ASSIGN_OR_RETURN(auto one, wardrobe::text_field(body["item_id"], "item_id", 64));
    if (!one) return Status::invalid_argument("'item_id' must be an item id");
    ids.push_back(*one);
  } else {
    ATELIER_ASSIGN_OR_RETURN(ids, id_list(body, "item_ids"));
  }
  wardrobe::FeedbackContext c;
  if (auto it = body.find("context"); it != body.end() && !it->is_null()) {
    if (!it->is_object()) return Status::invalid_argument("'context' must be an object");
    for (auto [name, slot] :
         std::initializer_list<std::pair<const char*, std::optional<std::string>*>>{
             {"occasion", &c.occasion}, {"season", &c.season}, {"source", &c.source}}) {
      auto v = it->find(name);
      if (v == it->end() || v->is_null()) continue;
      ATELIER_ASSIGN_OR_RETURN(*slot, wardrobe::text_field(*v, name, 32));
    }
  }
  ATELIER_ASSIGN_OR_RETURN(auto f,
                           svc.add_feedback(ctx.identity.id, body["event"], ids, c, ctx.work));
  return Response::json_ordered(201, feedback_json(f));
}

Result<Response> FeedbackHandlers::handle_get_preferences(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto p, svc.preferences(ctx.identity.id, ctx.work));
  ordered_json j;
  j["events"] = {{"like", p.likes}, {"dislike", p.dislikes}, {"wore", p.wore}, {"skip", p.skips}};
  ordered_json fam = ordered_json::object();
  for (const auto& [f, v] : p.color_families) fam[f] = round3(v);
  j["color_families"] = fam;
  const auto& names = wardrobe::Features::names();
  ordered_json w;
  w["bias"] = round3(p.weights.bias);
  for (int k = 0; k < wardrobe::Features::kCount; ++k) w[names[k]] = round3(p.weights.w[k]);
  ordered_json g;
  g["bias"] = round3(svc.weights().bias);
  for (int k = 0; k < wardrobe::Features::kCount; ++k) g[names[k]] = round3(svc.weights().w[k]);
  j["weights"] = {{"personal", w}, {"global", g}};
  ordered_json pairs = ordered_json::array();
  for (const auto& [k, v] : p.pair_affinity) {
    const auto bar = k.find('|');
    pairs.push_back({{"item_ids", {k.substr(0, bar), k.substr(bar + 1)}}, {"affinity", round3(v)}});
  }
  j["pairs"] = pairs;
  j["has_taste"] = !p.taste.empty();
  ordered_json worn = ordered_json::object();
  for (const auto& [id, ms] : p.last_worn) worn[id] = ms;
  j["last_worn"] = worn;
  return Response::json_ordered(200, j);
}

}  // namespace

void add_feedback_routes(http::Router& router, wardrobe::OutfitService& svc) {
  const auto h = std::make_shared<const FeedbackHandlers>(FeedbackHandlers{svc});
  router.add({
      .method = Method::post,
      .path = "/v1/feedback",
      .operation_id = "add_feedback",
      .summary = "like, dislike, wore or skip an item ('item_id') or an outfit ('item_ids'), with "
                 "the context it was shown in; recommendations and fill learn from it",
      .tag = "outfits",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .request_schema = {{"type", "object"},
                         {"required", {"event"}},
                         {"properties",
                          {{"event", {{"type", "string"}, {"enum", wardrobe::feedback_events()}}},
                           {"item_id", {{"type", "string"}}},
                           {"item_ids",
                            {{"type", "array"},
                             {"items", {{"type", "string"}}},
                             {"minItems", 1},
                             {"maxItems", 9}}},
                           {"context",
                            {{"type", "object"},
                             {"properties",
                              {{"occasion", {{"type", "string"}}},
                               {"season", {{"type", "string"}}},
                               {"source", {{"type", "string"}}}}}}}}}},
      .request_example = {{"event", "like"},
                          {"item_ids",
                           {"wi_6a182d9d610e44383a1901aa", "wi_68af7a1edead99e3d08d559b"}},
                          {"context", {{"occasion", "work"}}}},
      .response_example =
          nlohmann::json::parse(R"({"id": "fb_103cf7c36b3485e6fa92c3bc", "event": "like",
        "item_ids": ["wi_6a182d9d610e44383a1901aa", "wi_68af7a1edead99e3d08d559b"],
        "context": {"occasion": "work"}, "created_at": 1795685275173})"),
      .success_status = 201,
      .errors = {404},
      .handler = http::bind_handler(h, &FeedbackHandlers::handle_add_feedback),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/me/preferences",
      .operation_id = "get_preferences",
      .summary = "What atelier learned from the caller's feedback: counts, colour-family "
                 "leanings, personal weights, item pairs liked together, the items closest to "
                 "their taste",
      .tag = "outfits",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_example =
          nlohmann::json::parse(R"({"events": {"like": 1, "dislike": 0, "wore": 0, "skip": 0},
        "color_families": {"black": 0.583},
        "weights": {"personal": {"bias": -17.7, "palette": 7.394, "hues": 0.188, "accents": 0.13,
                                 "formality": 0.097, "season": 0.097, "structure": 2.883,
                                 "visual": 0.04, "style": 30.155},
                    "global": {"bias": -17.83, "palette": 7.355, "hues": 0.059, "accents": 0,
                               "formality": 0, "season": 0, "structure": 2.792, "visual": 0,
                               "style": 30.091}},
        "pairs": [{"item_ids": ["wi_68af7a1edead99e3d08d559b", "wi_6a182d9d610e44383a1901aa"],
                   "affinity": 1}],
        "has_taste": true, "last_worn": {}})"),
      .handler = http::bind_handler(h, &FeedbackHandlers::handle_get_preferences),
  });
}

void add_wardrobe_index_stats(ApiDeps& d, wardrobe::WardrobeService& svc,
                              wardrobe::OutfitService& outfits) {
  d.index_stats.add(
      {"wardrobe",
       [&svc, &outfits](const Identity& id, const WorkContext& work) -> Result<ordered_json> {
         ordered_json j;
         std::size_t items = 0, vectors = 0, dims = 0;
         std::string model;
         if (!id.anonymous()) {
           ATELIER_ASSIGN_OR_RETURN(auto all, svc.all(id.id, work));
           items = all.size();
           for (const auto& it : all) {
             if (it.embedding.empty()) continue;
             ++vectors;
             dims = it.embedding.size();
             model = it.embedding_model;
           }
         }
         j["index"] = "exact";  // `similar` searches by brute force per request, from the rows
         j["items"] = items;
         j["vectors"] = vectors;
         j["dimensions"] = dims;
         j["model"] = model.empty() ? ordered_json(nullptr) : ordered_json(model);
         j["memory_bytes"] = vectors * dims * sizeof(float);
         // The style space outfits are scored in (built on the first outfit
         // request after a change, then kept).
         const auto space = id.anonymous() ? nullptr : outfits.styles().peek(id.id);
         j["style_space"] = space ? ordered_json{{"points", space->size()},
                                                 {"dimensions", space->dimensions()},
                                                 {"memory_bytes", space->bytes()},
                                                 {"build_ms", round3(space->build_ms())}}
                                  : ordered_json(nullptr);
         return j;
       }});
  d.metrics.add_sampled_counter("atelier_wardrobe_style_builds_total",
                                "Wardrobe style spaces built (after a wardrobe changed).", {},
                                [&outfits] { return double(outfits.styles().stats().builds); });
  d.metrics.add_sampled_counter("atelier_wardrobe_style_hits_total",
                                "Outfit requests served from a cached style space.", {},
                                [&outfits] { return double(outfits.styles().stats().hits); });
  d.metrics.add_sampled_counter(
      "atelier_wardrobe_style_build_seconds_total", "Time spent building style spaces.", {},
      [&outfits] { return outfits.styles().stats().build_ms_total / 1000.0; });
  d.metrics.add_sampled_gauge("atelier_wardrobe_style_memory_bytes",
                              "Memory held by cached wardrobe style spaces.", {},
                              [&outfits] { return double(outfits.styles().stats().bytes); });
}

UserDataPart wardrobe_user_data(wardrobe::WardrobeService& svc, wardrobe::OutfitService& outfits) {
  UserDataPart p;
  p.name = "wardrobe";
  p.export_all = [&svc, &outfits](const std::string& owner) -> Result<ordered_json> {
    ATELIER_ASSIGN_OR_RETURN(auto items, svc.all(owner));
    ordered_json arr = ordered_json::array();
    for (const auto& it : items) arr.push_back(item_json(it));
    ATELIER_ASSIGN_OR_RETURN(auto events, outfits.feedback_of(owner));
    ordered_json fb = ordered_json::array();
    for (const auto& f : events) fb.push_back(feedback_json(f));
    return ordered_json{{"wardrobe_items", arr}, {"feedback", fb}};
  };
  p.erase_all = [&svc, &outfits](const std::string& owner) {
    ATELIER_RETURN_IF_ERROR(outfits.delete_owner(owner));
    return svc.delete_owner(owner);
  };
  return p;
}

}  // namespace atelier::api
