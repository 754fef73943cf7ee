// /v1/outfits: evaluate (stored items or photos inline), recommend and fill;
// /v1/outfits/feedback and what was learned from it.
#include <algorithm>
#include <cmath>
#include <set>

#include "core/ids.h"
#include "core/json.h"
#include "http/image_input.h"
#include "http/problem.h"
#include "wardrobe/routes.h"
#include "wardrobe/shared_routes.h"

namespace atelier::api {

using http::Access;
using http::Exec;
using http::Method;
using http::QueryParam;
using http::RequestContext;
using http::Response;
using nlohmann::ordered_json;
using wardrobe::Item;
using namespace wardrobe_routes;  // NOLINT(google-build-using-namespace): this capability's own
                                  // helpers

namespace {

using json::round3;

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
      .response_example = nlohmann::json::parse(R"({"score": 0.542, "verdict": "works",
        "aspects": {"color_harmony": 0.706, "formality": 0.75, "structure": 1, "visual": 0.512},
        "lowered_by": "style",
        "explanation": ["What lowers the score most: the blue jeans and the black shoulder bag are rarely worn in the same looks.",
                        "The black blouse and the black shoulder bag are both black.",
                        "The only accent colour comes from the blue jeans; the rest is neutral.",
                        "The blue jeans are casual while the black blouse is smart casual."]})"),
      .response_nullable = {"lowered_by"},  // null when it goes well together
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
                                   "lowered_by": null,
                                   "explanation": ["The white shirt and the navy trousers are both smart casual."]}],
        "note": "only 1 outfits differ enough from each other"})"),
      .errors = {404},
      .handler = http::bind_handler(h, &OutfitHandlers::handle_recommend_outfits),
  });
}

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
  for (const auto& [id, ms] : p.last_worn) worn[id] = http::seconds_of_ms(ms);
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
        "context": {"occasion": "work"}, "created_at": 1795685275})"),
      .response_maps = {"context"},
      .success_status = 201,
      .errors = {404},
      .idempotency = http::Idempotency::pipeline,
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
      .response_maps = {"color_families", "last_worn"},
      .handler = http::bind_handler(h, &FeedbackHandlers::handle_get_preferences),
  });
}

}  // namespace atelier::api
