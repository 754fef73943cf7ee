// Interior design studio: rooms, design jobs, their images, style presets,
// spend, and the caller's data export and deletion.
#include "design/routes.h"
#include "design/presets.h"
#include "design/service.h"
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
using http::RouteSpec;

namespace {

nlohmann::ordered_json room_json(const Room& r) {
  return {{"id", r.id},
          {"name", r.name},
          {"room_type", r.room_type},
          {"width", r.width},
          {"height", r.height},
          {"content_type", r.content_type},
          {"created_at", http::seconds_of_ms(r.created_at)},
          {"image_url", "/v1/rooms/" + r.id + "/image"}};
}

nlohmann::ordered_json design_json(const Design& d) {
  nlohmann::ordered_json j;
  j["id"] = d.id;
  j["status"] = d.status;
  j["room_id"] = d.room_id ? nlohmann::ordered_json(*d.room_id) : nlohmann::ordered_json(nullptr);
  j["style"] = d.style;
  j["room_type"] = d.room_type;
  j["engine"] = d.engine;
  j["strength"] = d.strength;
  j["seed"] = d.seed;
  j["prompt"] = d.prompt;
  j["negative_prompt"] = d.negative_prompt;
  j["preset_version"] = d.preset_version;
  // What the job cost: a queued or running one holds its cost against the
  // budget, but has cost nothing yet.
  j["cost_usd"] = d.status == "succeeded" ? d.cost : 0.0;
  j["error"] = d.error.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(d.error);
  j["attempts"] = d.attempts;
  if (d.canny_low) j["control_thresholds"] = {*d.canny_low, *d.canny_high};
  nlohmann::ordered_json t;
  auto seconds = [](const std::optional<std::int64_t>& ms) {
    return ms ? nlohmann::ordered_json(http::seconds_of_ms(*ms)) : nlohmann::ordered_json(nullptr);
  };
  t["created_at"] = http::seconds_of_ms(d.created_at);
  t["started_at"] = seconds(d.started_at);
  t["finished_at"] = seconds(d.finished_at);
  // The same keys in every state: null until known.
  t["queue_ms"] = d.started_at ? nlohmann::ordered_json(*d.started_at - d.created_at)
                               : nlohmann::ordered_json(nullptr);
  t["run_ms"] = d.started_at && d.finished_at
                    ? nlohmann::ordered_json(*d.finished_at - *d.started_at)
                    : nlohmann::ordered_json(nullptr);
  j["timings"] = t;
  j["image_url"] = d.output_blob ? nlohmann::ordered_json("/v1/designs/" + d.id + "/image")
                                 : nlohmann::ordered_json(nullptr);
  j["control_url"] = d.control_blob ? nlohmann::ordered_json("/v1/designs/" + d.id + "/control")
                                    : nlohmann::ordered_json(nullptr);
  return j;
}

// A real answer of a design that succeeded (the OpenAPI example of its routes).
nlohmann::json design_example() {
  return nlohmann::json::parse(R"({"id": "ds_9c27bc46aa6e23c365edbebb", "status": "succeeded",
    "room_id": "rm_1d0edc7e6a321c0e480ac153", "style": "scandinavian", "room_type": "bedroom",
    "engine": "local", "strength": 0.75, "seed": 7,
    "prompt": "a photo of a scandinavian interior, light wood, cozy textiles, airy and bright bedroom",
    "negative_prompt": "blurry, lowres, distorted perspective", "preset_version": "2026.11-1",
    "cost_usd": 0.0, "error": null, "attempts": 1,
    "timings": {"created_at": 1796583480, "started_at": 1796583480, "finished_at": 1796583481,
                "queue_ms": 0, "run_ms": 989},
    "image_url": "/v1/designs/ds_9c27bc46aa6e23c365edbebb/image",
    "control_url": "/v1/designs/ds_9c27bc46aa6e23c365edbebb/control"})");
}

Response image_response(std::string bytes, const std::string& type) {
  Response r = Response::text(200, std::move(bytes), type);
  r.set_header("Cache-Control", "private, max-age=3600");
  return r;
}

}  // namespace

namespace {

// The handlers of add_design_routes(), named after their routes' operation ids,
// over what they need.
struct DesignHandlers {
  ApiDeps& d;
  design::DesignService& svc;

  Result<Response> handle_design_styles(const RequestContext&) const;
  Result<Response> handle_create_room(const RequestContext& ctx) const;
  Result<Response> handle_list_rooms(const RequestContext& ctx) const;
  Result<Response> handle_get_room(const RequestContext& ctx) const;
  Result<Response> handle_room_image(const RequestContext& ctx) const;
  Result<Response> handle_delete_room(const RequestContext& ctx) const;
  Result<Response> handle_create_design(const RequestContext& ctx) const;
  Result<Response> handle_list_designs(const RequestContext& ctx) const;
  Result<Response> handle_get_design(const RequestContext& ctx) const;
  Result<Response> handle_design_image(const RequestContext& ctx) const;
  Result<Response> handle_design_control(const RequestContext& ctx) const;
  // The job's output image, or its control image.
  Result<Response> design_picture(const RequestContext& ctx, bool output) const;
  Result<Response> handle_cancel_design(const RequestContext& ctx) const;
  Result<Response> handle_delete_design(const RequestContext& ctx) const;
  Result<Response> handle_design_spend(const RequestContext& ctx) const;
};

Result<Response> DesignHandlers::handle_design_styles(const RequestContext&) const {
  nlohmann::ordered_json styles = nlohmann::ordered_json::array();
  for (const auto& s : design::styles())
    styles.push_back({{"id", s.id},
                      {"name", s.name},
                      {"prompt", s.prompt},
                      {"negative_prompt", s.negative},
                      {"palette", s.palette},
                      {"materials", s.materials},
                      {"lighting", s.lighting}});
  nlohmann::ordered_json rooms = nlohmann::ordered_json::array();
  for (const auto& t : design::room_types()) rooms.push_back({{"id", t.id}, {"name", t.name}});
  nlohmann::ordered_json out;
  out["version"] = design::kPresetVersion;
  out["styles"] = styles;
  out["room_types"] = rooms;
  return Response::json_ordered(200, out);
}

Result<Response> DesignHandlers::handle_create_room(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(ImageRequest in,
                           read_images(ctx.req, 1, url_policy(d.config), ctx.work));
  ATELIER_ASSIGN_OR_RETURN(auto imgs, decode_all(in, image_limits(d, 64, ctx.work)));
  std::string name, room_type = "other";
  in.option(ctx.req, "name", &name);
  in.option(ctx.req, "room_type", &room_type);
  ATELIER_ASSIGN_OR_RETURN(
      Room room, svc.add_room(ctx.identity.id, name, room_type, in.images[0],
                              std::string(image::format_mime(imgs[0].header.format)), imgs[0].width,
                              imgs[0].height, ctx.work));
  Response r = Response::json_ordered(201, room_json(room));
  r.set_header("Location", "/v1/rooms/" + room.id);
  return r;
}

Result<Response> DesignHandlers::handle_list_rooms(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto cursor, http::page_start(ctx, *d.cursors, "rooms"));
  ATELIER_ASSIGN_OR_RETURN(const int limit, http::page_limit(ctx));
  ATELIER_ASSIGN_OR_RETURN(auto page, svc.rooms(ctx.identity.id, limit, cursor, ctx.work));
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& x : page.items) arr.push_back(room_json(x));
  return http::page_answer(ctx, *d.cursors, "rooms", page.next, {{"rooms", arr}});
}

Result<Response> DesignHandlers::handle_get_room(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto room,
                           svc.room(ctx.identity.id, ctx.req.path_params.at("id"), ctx.work));
  return Response::json_ordered(200, room_json(room));
}

Result<Response> DesignHandlers::handle_room_image(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(Room room,
                           svc.room(ctx.identity.id, ctx.req.path_params.at("id"), ctx.work));
  ATELIER_ASSIGN_OR_RETURN(std::string bytes, svc.blob(room.blob));
  return image_response(std::move(bytes), room.content_type);
}

Result<Response> DesignHandlers::handle_delete_room(const RequestContext& ctx) const {
  ATELIER_RETURN_IF_ERROR(svc.delete_room(ctx.identity.id, ctx.req.path_params.at("id"), ctx.work));
  return Response::no_content();
}

Result<Response> DesignHandlers::handle_create_design(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto body, http::parse_json_body(ctx.req));
  if (!body.is_object()) return Status::invalid_argument("expected a JSON object");
  design::CreateDesign c;
  c.owner = ctx.identity.id;
  c.tier = static_cast<int>(ctx.identity.tier);
  auto str = [&](const char* key, std::string* out) -> Status {
    if (!body.contains(key) || body[key].is_null()) return Status::ok();
    if (!body[key].is_string())
      return Status::invalid_argument(std::string("'") + key + "' must be a string");
    *out = body[key].get<std::string>();
    return Status::ok();
  };
  std::string room_id, image_b64;
  ATELIER_RETURN_IF_ERROR(str("room_id", &room_id));
  ATELIER_RETURN_IF_ERROR(str("image", &image_b64));
  ATELIER_RETURN_IF_ERROR(str("style", &c.style));
  ATELIER_RETURN_IF_ERROR(str("room_type", &c.room_type));
  ATELIER_RETURN_IF_ERROR(str("prompt", &c.extra_prompt));
  ATELIER_RETURN_IF_ERROR(str("engine", &c.engine));
  if (c.style.empty())
    return Status::invalid_argument("'style' is required (GET /v1/design/styles lists them)");
  if (!room_id.empty() && !image_b64.empty())
    return Status::invalid_argument("give 'room_id' or 'image', not both");
  if (!room_id.empty()) c.room_id = room_id;
  if (!image_b64.empty()) {
    ATELIER_ASSIGN_OR_RETURN(c.image_bytes, decode_base64_image(image_b64, "'image'"));
    ATELIER_ASSIGN_OR_RETURN(image::HeaderInfo h, image::probe(c.image_bytes));
    if (static_cast<std::int64_t>(h.width) * h.height > d.config.max_image_pixels)
      return Status::payload_too_large("the image has more pixels than the limit");
    c.image_type = std::string(image::format_mime(h.format));
    // Decode once now so a broken image fails the request, not the job.
    ATELIER_RETURN_IF_ERROR(image::decode(c.image_bytes, image_limits(d, 64, ctx.work)).status());
  }
  if (body.contains("strength") && !body["strength"].is_null()) {
    if (!body["strength"].is_number())
      return Status::invalid_argument("'strength' must be a number in [0, 1]");
    c.strength = body["strength"].get<double>();
  }
  if (body.contains("seed") && !body["seed"].is_null()) {
    if (!body["seed"].is_number_integer() || body["seed"].get<std::int64_t>() < 0)
      return Status::invalid_argument("'seed' must be a non-negative integer");
    c.seed = body["seed"].get<std::int64_t>();
  }
  for (const char* k : {"canny_low", "canny_high"}) {
    if (!body.contains(k) || body[k].is_null()) continue;
    if (!body[k].is_number_integer())
      return Status::invalid_argument(std::string("'") + k + "' must be an integer");
    (std::string(k) == "canny_low" ? c.canny_low : c.canny_high) = body[k].get<int>();
  }
  const std::string_view key = ctx.req.header("idempotency-key");
  if (!key.empty()) {
    c.idempotency_key = std::string(key);
    // Over the parsed body (keys sorted), so whitespace and key order
    // do not make a retry "different".
    c.request_hash = sha256_hex(body.dump());
  }
  ATELIER_ASSIGN_OR_RETURN(const double wait_s, ctx.req.query_number("wait", 0, 0, 3600));
  ATELIER_ASSIGN_OR_RETURN(design::Created made, svc.create(c, ctx.work));
  Design out = made.design;
  if (wait_s > 0) {
    const auto limit = std::min<std::chrono::milliseconds>(
        std::chrono::milliseconds(static_cast<std::int64_t>(wait_s * 1000)),
        svc.settings().ai_timeout);
    ATELIER_ASSIGN_OR_RETURN(
        out, svc.wait(c.owner, out.id, std::min(limit, ctx.work.deadline.remaining()), ctx.work));
  }
  const bool done =
      out.status == "succeeded" || out.status == "failed" || out.status == "cancelled";
  Response resp = Response::json_ordered(made.created ? (done ? 201 : 202) : 200, design_json(out));
  resp.set_header("Location", "/v1/designs/" + out.id);
  if (!made.created) resp.set_header("Idempotent-Replayed", "true");
  return resp;
}

Result<Response> DesignHandlers::handle_list_designs(const RequestContext& ctx) const {
  std::optional<std::string> room;
  std::string v;
  if (ctx.req.query_param("room_id", &v) && !v.empty()) room = v;
  ATELIER_ASSIGN_OR_RETURN(auto cursor, http::page_start(ctx, *d.cursors, "designs"));
  ATELIER_ASSIGN_OR_RETURN(const std::int64_t limit, ctx.req.query_int("limit", 20, 1, 100));
  ATELIER_ASSIGN_OR_RETURN(
      auto page, svc.list(ctx.identity.id, room, static_cast<int>(limit), cursor, ctx.work));
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& x : page.items) arr.push_back(design_json(x));
  nlohmann::ordered_json out;
  out["designs"] = arr;
  return http::page_answer(ctx, *d.cursors, "designs", page.next, std::move(out));
}

Result<Response> DesignHandlers::handle_design_image(const RequestContext& ctx) const {
  return design_picture(ctx, true);
}

Result<Response> DesignHandlers::handle_design_control(const RequestContext& ctx) const {
  return design_picture(ctx, false);
}

Result<Response> DesignHandlers::design_picture(const RequestContext& ctx, bool output) const {
  ATELIER_ASSIGN_OR_RETURN(Design x,
                           svc.get(ctx.identity.id, ctx.req.path_params.at("id"), ctx.work));
  const auto& blob = output ? x.output_blob : x.control_blob;
  if (!blob)
    return Status::not_found("design '" + x.id + "' has no " + (output ? "image" : "control") +
                             " yet (" + x.status + ")");
  ATELIER_ASSIGN_OR_RETURN(std::string bytes, svc.blob(*blob));
  return image_response(std::move(bytes),
                        output ? x.output_type.value_or("image/png") : "image/png");
}

Result<Response> DesignHandlers::handle_get_design(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(Design x,
                           svc.get(ctx.identity.id, ctx.req.path_params.at("id"), ctx.work));
  return Response::json_ordered(200, design_json(x));
}

Result<Response> DesignHandlers::handle_cancel_design(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(Design x,
                           svc.cancel(ctx.identity.id, ctx.req.path_params.at("id"), ctx.work));
  return Response::json_ordered(200, design_json(x));
}

Result<Response> DesignHandlers::handle_delete_design(const RequestContext& ctx) const {
  ATELIER_RETURN_IF_ERROR(svc.remove(ctx.identity.id, ctx.req.path_params.at("id"), ctx.work));
  return Response::no_content();
}

Result<Response> DesignHandlers::handle_design_spend(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto s, svc.spend(ctx.identity.id, ctx.work));
  ATELIER_ASSIGN_OR_RETURN(Usage u, d.ledger.today("gen:" + ctx.identity.id));
  const std::int64_t limit = svc.settings().daily_generations[static_cast<int>(ctx.identity.tier)];
  nlohmann::ordered_json out;
  out["today_usd"] = s.first;
  out["month_usd"] = s.second;
  out["generations_today"] = u.units;
  out["generations_limit"] = limit;
  out["generations_left"] = std::max<std::int64_t>(0, limit - u.units);
  return Response::json_ordered(200, out);
}

}  // namespace

void add_design_routes(http::Router& router, ApiDeps& d, design::DesignService& svc) {
  const auto h = std::make_shared<const DesignHandlers>(DesignHandlers{d, svc});
  router.add({
      .method = Method::get,
      .path = "/v1/design/styles",
      .operation_id = "design_styles",
      .summary = "Style presets (prompts, palettes, materials, lighting) and room types",
      .tag = "design",
      .access = Access::caller,
      .response_example =
          nlohmann::json::parse(R"({"version": "2026.11-1", "styles": [{"id": "modern",
        "name": "Modern",
        "prompt": "modern interior, clean lines, neutral tones with bold accents, sleek furniture",
        "negative_prompt": "ornate, cluttered, rustic",
        "palette": ["white", "gainsboro", "dimgray", "black", "steelblue"],
        "materials": ["lacquer", "glass", "polished concrete", "chrome"],
        "lighting": "bright even daylight with recessed lighting"}],
        "room_types": [{"id": "living_room", "name": "living room"}]})"),
      .handler = http::bind_handler(h, &DesignHandlers::handle_design_styles),
  });
  router.add({
      .method = Method::post,
      .path = "/v1/rooms",
      .operation_id = "create_room",
      .summary = "Upload a room photo once (multipart, image/* or base64 JSON; name and room_type "
                 "optional)",
      .tag = "design",
      .access = Access::user,
      .cost = 1,
      .exec = Exec::worker_pool,
      .request_body = image_request_body(
          {{"name", {{"type", "string"}}}, {"room_type", {{"type", "string"}}}}, false),
      .response_example = nlohmann::json::parse(
          R"({"id": "rm_1d0edc7e6a321c0e480ac153", "name": "guest", "room_type": "bedroom",
        "width": 350, "height": 247, "content_type": "image/jpeg",
        "created_at": 1796583480,
        "image_url": "/v1/rooms/rm_1d0edc7e6a321c0e480ac153/image"})"),
      .success_status = 201,
      .errors = {413, 415},
      .idempotency = http::Idempotency::pipeline,
      .handler = http::bind_handler(h, &DesignHandlers::handle_create_room),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/rooms",
      .operation_id = "list_rooms",
      .summary = "The caller's rooms, newest first (cursor pagination)",
      .tag = "design",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_example =
          nlohmann::json::parse(R"({"rooms": [{"id": "rm_1d0edc7e6a321c0e480ac153", "name": "guest",
        "room_type": "bedroom", "width": 350, "height": 247,
        "content_type": "image/jpeg", "created_at": 1796583480,
        "image_url": "/v1/rooms/rm_1d0edc7e6a321c0e480ac153/image"}],
        "next_cursor": null})"),
      .query = {http::limit_param(), http::cursor_param()},
      .handler = http::bind_handler(h, &DesignHandlers::handle_list_rooms),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/rooms/{id}",
      .operation_id = "get_room",
      .summary = "One of the caller's rooms (the Location of its upload)",
      .tag = "design",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_example = nlohmann::json::parse(
          R"({"id": "rm_1d0edc7e6a321c0e480ac153", "name": "guest", "room_type": "bedroom",
        "width": 350, "height": 247, "content_type": "image/jpeg",
        "created_at": 1796583480,
        "image_url": "/v1/rooms/rm_1d0edc7e6a321c0e480ac153/image"})"),
      .errors = {404},
      .handler = http::bind_handler(h, &DesignHandlers::handle_get_room),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/rooms/{id}/image",
      .operation_id = "room_image",
      .summary = "A room's photo as uploaded",
      .tag = "design",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_content_type = "image/*",
      .errors = {404},
      .handler = http::bind_handler(h, &DesignHandlers::handle_room_image),
  });
  router.add({
      .method = Method::del,
      .path = "/v1/rooms/{id}",
      .operation_id = "delete_room",
      .summary = "Delete a room (its designs stay)",
      .tag = "design",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_content_type = "",
      .success_status = 204,
      .errors = {404},
      .handler = http::bind_handler(h, &DesignHandlers::handle_delete_room),
  });
  router.add({
      .method = Method::post,
      .path = "/v1/designs",
      .operation_id = "create_design",
      .summary =
          "Restyle a room: creates a job (202); ?wait=SECONDS blocks until it ends (up to the AI "
          "timeout)",
      .tag = "design",
      .access = Access::user,
      .cost = 1,
      .exec = Exec::inference_pool,
      .request_schema = {{"type", "object"},
                         {"required", {"style"}},
                         {"properties",
                          {{"room_id", {{"type", "string"}}},
                           {"image",
                            {{"type", "string"},
                             {"format", "byte"},
                             {"description", "base64 room photo, when no room_id"}}},
                           {"style", {{"type", "string"}}},
                           {"room_type", {{"type", "string"}}},
                           {"prompt", {{"type", "string"}, {"maxLength", 500}}},
                           {"strength", {{"type", "number"}, {"minimum", 0}, {"maximum", 1}}},
                           {"seed", {{"type", "integer"}}},
                           {"engine", {{"type", "string"}}},
                           {"canny_low",
                            {{"type", "integer"},
                             {"description",
                              "control thresholds; default from the image's median"}}},
                           {"canny_high", {{"type", "integer"}}}}}},
      .request_example = nlohmann::json::parse(
          R"({"room_id": "rm_d5afc9f2721f59e65aff29f2", "style": "scandinavian", "strength": 0.75, "seed": 1})"),
      .response_example = design_example(),
      .response_nullable = {"image_url", "control_url", "error"},
      .success_status = 202,
      .errors = {404, 409, 413, 415, 422, 429, 503},
      .query = {QueryParam{
          "wait", "seconds to wait for the result (0 to the AI timeout)", {{"type", "number"}}}},
      .idempotency = http::Idempotency::handler,
      .handler = http::bind_handler(h, &DesignHandlers::handle_create_design),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/designs",
      .operation_id = "list_designs",
      .summary = "The caller's designs, newest first (cursor pagination; ?room_id= filters)",
      .tag = "design",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_example = {{"designs", nlohmann::json::array({design_example()})},
                           {"next_cursor", nullptr}},
      .response_nullable = {"image_url", "control_url", "error"},
      .query = {QueryParam{"room_id", "only this room's designs", {{"type", "string"}}},
                QueryParam{"limit", "1-100, default 20", {{"type", "integer"}}},
                http::cursor_param()},
      .handler = http::bind_handler(h, &DesignHandlers::handle_list_designs),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/designs/{id}",
      .operation_id = "get_design",
      .summary = "A design job: status, timings, engine, cost, prompt",
      .tag = "design",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_example = design_example(),
      .response_nullable = {"image_url", "control_url", "error"},
      .errors = {404},
      .handler = http::bind_handler(h, &DesignHandlers::handle_get_design),
  });
  for (const char* what : {"image", "control"}) {
    const bool output = std::string(what) == "image";
    router.add({
        .method = Method::get,
        .path = std::string("/v1/designs/{id}/") + what,
        .operation_id = std::string("design_") + what,
        .summary = output ? "The restyled image (404 until the job succeeded)"
                          : "The Canny edge map used as the layout control",
        .tag = "design",
        .access = Access::user,
        .exec = Exec::worker_pool,
        .response_content_type = "image/*",
        .errors = {404},
        .handler = output ? http::bind_handler(h, &DesignHandlers::handle_design_image)
                          : http::bind_handler(h, &DesignHandlers::handle_design_control),
    });
  }
  router.add({
      .method = Method::post,
      .path = "/v1/designs/{id}/cancel",
      .operation_id = "cancel_design",
      .summary = "Cancel a queued or running job (its generation is given back)",
      .tag = "design",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_example = design_example(),
      .response_nullable = {"image_url", "control_url", "error"},
      .errors = {404},
      .handler = http::bind_handler(h, &DesignHandlers::handle_cancel_design),
  });
  router.add({
      .method = Method::del,
      .path = "/v1/designs/{id}",
      .operation_id = "delete_design",
      .summary = "Delete a design and its images",
      .tag = "design",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_content_type = "",
      .success_status = 204,
      .errors = {404},
      .handler = http::bind_handler(h, &DesignHandlers::handle_delete_design),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/design/spend",
      .operation_id = "design_spend",
      .summary =
          "The caller's generation spend (USD) today and this month, and generations left today",
      .tag = "design",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_example = nlohmann::json::parse(R"({"today_usd": 0.04, "month_usd": 1.28,
        "generations_today": 2, "generations_limit": 100, "generations_left": 98})"),
      .handler = http::bind_handler(h, &DesignHandlers::handle_design_spend),
  });
}

UserDataPart design_user_data(design::DesignService& svc) {
  UserDataPart p;
  p.name = "design";
  p.export_all = [&svc](const std::string& owner) -> Result<nlohmann::ordered_json> {
    nlohmann::ordered_json out;
    ATELIER_ASSIGN_OR_RETURN(auto rooms, svc.rooms(owner));
    auto& ra = out["rooms"] = nlohmann::ordered_json::array();
    for (const auto& x : rooms) ra.push_back(room_json(x));
    auto& da = out["designs"] = nlohmann::ordered_json::array();
    std::optional<PagePosition> cursor;
    do {
      ATELIER_ASSIGN_OR_RETURN(auto page, svc.list(owner, std::nullopt, 100, cursor));
      for (const auto& x : page.items) da.push_back(design_json(x));
      cursor = page.next;
    } while (cursor);
    return out;
  };
  p.erase_all = [&svc](const std::string& owner) { return svc.delete_owner(owner); };
  return p;
}

}  // namespace atelier::api
