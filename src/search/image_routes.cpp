// Collections of images: items carry an image (embedded by the collection's
// image model: MobileNetV2 or a CLIP image tower) plus optional text and
// metadata, and are searched by an image. The collection itself is an
// ordinary search collection created with that model; its text stays
// searchable by BM25, and a CLIP collection also answers text queries
// through /v1/collections/{name}/search (CLIP's text tower shares the space).
#include "core/ids.h"
#include "http/image_input.h"
#include "http/problem.h"
#include "search/routes.h"

namespace atelier::api {

using http::Access;
using http::Exec;
using http::Method;
using http::RequestContext;
using http::Response;
using http::RouteSpec;

namespace {

constexpr std::size_t kMaxItems = 64;

}  // namespace

namespace {

// The handlers of add_image_collection_routes(), named after their routes' operation ids,
// over what they need.
struct ImageCollectionHandlers {
  ApiDeps& d;
  search::SearchService& svc;

  Result<Response> handle_ingest_images(const RequestContext& ctx) const;
  Result<Response> handle_search_by_image(const RequestContext& ctx) const;
};

Result<Response> ImageCollectionHandlers::handle_ingest_images(const RequestContext& ctx) const {
  const std::string& name = ctx.req.path_params.at("name");
  // Known and readable before any image is decoded.
  ATELIER_RETURN_IF_ERROR(svc.collection(name, caller_of(ctx.identity)).status());
  ATELIER_ASSIGN_OR_RETURN(auto body, http::parse_json_body(ctx.req));
  if (!body.is_array() || body.empty())
    return Status::invalid_argument("expected a JSON array of image items");
  if (body.size() > kMaxItems) {
    return Status::invalid_argument("at most " + std::to_string(kMaxItems) +
                                    " image items per request");
  }
  std::vector<search::ImageItem> items;
  const image::Limits limits = image_limits(d, d.config.max_resolution, ctx.work);
  for (std::size_t i = 0; i < body.size(); ++i) {
    const auto& item = body[i];
    const std::string where = "item " + std::to_string(i);
    if (!item.is_object()) return Status::invalid_argument(where + " must be an object");
    search::ImageItem doc;
    if (!item.contains("id") || !item["id"].is_string()) {
      return Status::invalid_argument(where + ": 'id' (string) is required");
    }
    doc.id = item["id"];
    // Checked before the image is decoded: the same rule as every id.
    ATELIER_RETURN_IF_ERROR(check_id(doc.id, where + ": 'id'"));
    if (!item.contains("image") || !item["image"].is_string()) {
      return Status::invalid_argument(where + ": 'image' (base64) is required");
    }
    ATELIER_ASSIGN_OR_RETURN(std::string bytes,
                             decode_base64_image(item["image"], where + ": 'image'"));
    auto img = image::decode(bytes, limits);
    if (!img.is_ok()) return Status(img.status().code(), where + ": " + img.status().message());
    doc.bgr = img->bgr;
    if (item.contains("text")) {
      if (!item["text"].is_string())
        return Status::invalid_argument(where + ": 'text' must be a string");
      doc.text = item["text"];
    }
    if (item.contains("metadata") && !item["metadata"].is_null()) {
      // Also checked by SearchService::ingest; here it fails the item
      // before its image is decoded and encoded.
      Status ok = search::check_metadata(item["metadata"]);
      if (!ok.is_ok()) return Status(ok.code(), where + ": " + ok.message());
      doc.metadata_json = item["metadata"].dump();
    }
    items.push_back(std::move(doc));
  }
  ATELIER_ASSIGN_OR_RETURN(UpsertCounts counts,
                           svc.ingest_images(name, items, caller_of(ctx.identity), ctx.work));
  return ingest_response(name, counts);
}

Result<Response> ImageCollectionHandlers::handle_search_by_image(const RequestContext& ctx) const {
  const std::string& name = ctx.req.path_params.at("name");
  ATELIER_RETURN_IF_ERROR(svc.collection(name, caller_of(ctx.identity)).status());
  ATELIER_ASSIGN_OR_RETURN(ImageRequest in,
                           read_images(ctx.req, 1, url_policy(d.config), ctx.work));
  ATELIER_ASSIGN_OR_RETURN(auto imgs,
                           decode_all(in, image_limits(d, d.config.max_resolution, ctx.work)));
  ATELIER_ASSIGN_OR_RETURN(double k, in.number(ctx.req, "k", 10, 1, 100));
  std::optional<MetadataFilter> mf;
  std::string filter;
  if (in.option(ctx.req, "filter", &filter) && !filter.empty()) {
    ATELIER_ASSIGN_OR_RETURN(mf, parse_metadata_filter(filter));
  }
  const auto t0 = SteadyClock::now();
  std::string model;
  ATELIER_ASSIGN_OR_RETURN(
      auto hits, svc.search_by_image(name, imgs[0].bgr, int(k), mf, caller_of(ctx.identity),
                                     ctx.work, &model));
  d.metrics.observe_search("vector",
                           std::chrono::duration<double>(SteadyClock::now() - t0).count());
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& h : hits) {
    arr.push_back({{"id", h.id},
                   {"score", h.vector_score.value_or(h.score)},
                   {"rank", h.vector_rank.value_or(0)}});
  }
  nlohmann::ordered_json out;
  out["model"] = model;
  out["hits"] = std::move(arr);
  return Response::json_ordered(200, out);
}

}  // namespace

void add_image_collection_routes(http::Router& router, ApiDeps& d, search::SearchService& svc) {
  const auto h = std::make_shared<const ImageCollectionHandlers>(ImageCollectionHandlers{d, svc});
  router.add({
      .method = Method::post,
      .path = "/v1/collections/{name}/images",
      .operation_id = "ingest_images",
      .summary =
          "Add or replace image items (base64 image, optional text and metadata) in an image "
          "collection",
      .tag = "search",
      .access = Access::user,
      .cost = 2,
      .exec = Exec::inference_pool,
      .request_schema = {{"type", "array"},
                         {"maxItems", kMaxItems},
                         {"items",
                          {{"type", "object"},
                           {"required", {"id", "image"}},
                           {"properties",
                            {{"id", {{"type", "string"}}},
                             {"image", {{"type", "string"}, {"format", "byte"}}},
                             {"text", {{"type", "string"}}},
                             {"metadata", {{"type", "object"}}}}}}}},
      .request_example = nlohmann::json::parse(
          R"([{"id": "navy-top", "image": "iVBORw0KGgoAAAANSUhEUgAAACAAAAAgCAIAAAD8GO2jAAAALElEQVR42u3NMQEAMAgAIF0Rf/PYP8tK6AcFyOqJSy+OCQQCgUAgEAgEgi0f/skA3U+wmM0AAAAASUVORK5CYII=", "text": "navy cotton top", "metadata": {"season": "summer"}}])"),
      .response_example =
          nlohmann::json::parse(R"({"collection": "looks", "inserted": 2, "updated": 0})"),
      .errors = {403, 404, 413, 503},
      .idempotency = http::Idempotency::pipeline,
      .handler = http::bind_handler(h, &ImageCollectionHandlers::handle_ingest_images),
  });
  router.add({
      .method = Method::post,
      .path = "/v1/collections/{name}/search/image",
      .operation_id = "search_by_image",
      .summary =
          "Nearest items of an image collection to an image (multipart, image/* or base64 JSON)",
      .tag = "search",
      .access = Access::caller,
      .cost = 2,
      .exec = Exec::inference_pool,
      .request_body = image_request_body(
          {{"k", {{"type", "integer"}, {"minimum", 1}, {"maximum", 100}}},
           {"filter", {{"type", "string"}, {"description", "metadata key:value"}}}},
          false),
      .response_example = nlohmann::json::parse(R"({"model": "mobilenet-v2",
        "hits": [{"id": "navy-top", "score": 0.8724, "rank": 1}]})"),
      .errors = {404, 413, 415, 503},
      .handler = http::bind_handler(h, &ImageCollectionHandlers::handle_search_by_image),
  });
}

}  // namespace atelier::api
