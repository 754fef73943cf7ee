// /v1/wardrobe/items: upload (auto-tagged and embedded), list with filters,
// read, correct (PATCH), delete, the photo, and similar items; the caller's
// wardrobe in GET /v1/index/stats and in their exported and erased data.
#include <algorithm>
#include <set>

#include "core/ids.h"
#include "core/json.h"
#include "http/image_input.h"
#include "http/paging.h"
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
using json::round3;
using nlohmann::ordered_json;
using wardrobe::Item;
using namespace wardrobe_routes;  // NOLINT(google-build-using-namespace): this capability's own
                                  // helpers

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
  Response r = Response::json_ordered(201, item_json(it));
  r.set_header("Location", "/v1/wardrobe/items/" + it.id);
  return r;
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
  return http::page_answer(ctx, *d.cursors, "wardrobe_items", page.next, std::move(out));
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
      .idempotency = http::Idempotency::pipeline,
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
  // A tag set to null drops the owner's correction (the auto tag shows again).
  nlohmann::json patch_props = nlohmann::json::object();
  for (const auto& [field, schema] : kTagFields.items())
    patch_props[field] = {{"anyOf", {schema, {{"type", "null"}}}}};
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
