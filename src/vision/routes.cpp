// Vision endpoints: analyze (everything in one call), detect, ocr, caption,
// vqa. Each reads its image through api/image_input, decodes it under the
// configured limits and hands it to vision::VisionService; inference runs on
// the inference pool, where requests wait together on the batched models.
#include "vision/routes.h"
#include "core/json.h"
#include "http/image_input.h"
#include "http/problem.h"

#include <cmath>

namespace atelier::api {

using http::Access;
using http::Exec;
using http::Method;
using http::RequestContext;
using http::Response;
using http::RouteSpec;

namespace {

using nlohmann::ordered_json;

using json::round3;

ordered_json box_json(const engines::Box& b) {
  return {{"x", round3(b.x)}, {"y", round3(b.y)}, {"width", round3(b.w)}, {"height", round3(b.h)}};
}

ordered_json colors_json(const std::vector<vision::PaletteColor>& p) {
  ordered_json a = ordered_json::array();
  for (const auto& c : p) {
    a.push_back(
        {{"hex", c.hex}, {"name", c.name}, {"family", c.family}, {"share", round3(c.share)}});
  }
  return a;
}

ordered_json types_json(const std::vector<vision::TypeScore>& t) {
  ordered_json a = ordered_json::array();
  for (const auto& x : t) {
    a.push_back({{"type", x.type},
                 {"category", x.category},
                 {"score", round3(x.score)},
                 {"imagenet", x.imagenet}});
  }
  return a;
}

ordered_json ocr_json(const engines::OcrResult& r) {
  ordered_json lines = ordered_json::array();
  for (const auto& l : r.lines) {
    ordered_json words = ordered_json::array();
    for (const auto& w : l.words) {
      words.push_back(
          {{"text", w.text}, {"confidence", round3(w.confidence)}, {"box", box_json(w.box)}});
    }
    lines.push_back({{"text", l.text},
                     {"confidence", round3(l.confidence)},
                     {"box", box_json(l.box)},
                     {"words", std::move(words)}});
  }
  return {{"text", r.text}, {"confidence", round3(r.confidence)}, {"lines", std::move(lines)}};
}

ordered_json described_json(const vision::Described& d) {
  return {{"text", d.description.text},
          {"confidence", round3(d.description.confidence)},
          {"evidence", d.description.evidence},
          {"engine", d.engine}};
}

// The wire shape of every vision answer: the parts the call produced, in a
// fixed order. `flat_ocr`: the OCR route answers with the text's fields at
// the top level.
ordered_json analysis_json(const vision::Analysis& a, bool flat_ocr = false) {
  ordered_json j;
  j["image"] = {{"width", a.image.width},
                {"height", a.image.height},
                {"format", a.image.format},
                {"sha256", a.image.sha256}};
  if (a.answer) j["question"] = a.question;
  if (a.types) j["types"] = types_json(*a.types);
  if (a.colors) j["colors"] = colors_json(*a.colors);
  if (a.detections) {
    ordered_json arr = ordered_json::array();
    for (const auto& d : *a.detections) {
      ordered_json item;
      item["class"] = d.type;
      item["category"] = d.category;
      item["raw_class"] = d.raw_class;
      item["class_id"] = d.class_id;
      item["score"] = round3(d.score);
      item["box"] = box_json(d.box);
      if (a.colors) item["colors"] = colors_json(d.colors);  // colours were asked
      if (d.types) item["types"] = types_json(*d.types);
      arr.push_back(std::move(item));
    }
    j["detections"] = std::move(arr);
  }
  if (a.ocr) {
    if (flat_ocr) {
      ordered_json text = ocr_json(*a.ocr);  // named: items() must not outlive it
      for (auto& [k, v] : text.items()) j[k] = std::move(v);
    } else {
      j["ocr"] = ocr_json(*a.ocr);
    }
  }
  if (a.caption) j["caption"] = described_json(*a.caption);
  if (a.answer) j["answer"] = described_json(*a.answer);
  ordered_json models = ordered_json::object();
  for (const auto& [role, model] : a.models) models[role] = model;
  j["models"] = std::move(models);
  ordered_json timings = ordered_json::object();
  for (const auto& [phase, ms] : a.timings_ms) timings[phase] = round3(ms);
  j["timings_ms"] = std::move(timings);
  j["cached"] = a.cached;
  return j;
}

// A vision route: `r` names what differs (path, operation, summary, cost,
// handler); every vision route takes one image with the given option fields
// and runs on the inference pool.
// `example`: a real answer (trimmed to one or two of each list), which
// types the answer in the OpenAPI document; `models` and `timings_ms` are
// maps, and what comes only on request (or from some engines) may be absent.
RouteSpec vision_route(RouteSpec r, const nlohmann::json& fields, const char* example) {
  r.response_example = nlohmann::json::parse(example);
  r.response_maps = {"models", "timings_ms"};
  if (r.operation_id != "vision_detect" && r.operation_id != "vision_ocr")
    r.response_optional = {"types", "colors", "detections", "ocr", "caption"};
  r.method = Method::post;
  r.tag = "vision";
  r.access = Access::caller;
  r.exec = Exec::inference_pool;
  r.request_body = image_request_body(fields, false);
  r.errors = {413, 415, 503, 504};
  return r;
}

Result<image::Image> one_image(const RequestContext& ctx, const ApiDeps& d, ImageRequest* out) {
  {
    ScopedTiming t(ctx.work.timings.get(), "read");
    ATELIER_ASSIGN_OR_RETURN(*out, read_images(ctx.req, 1, url_policy(d.config), ctx.work));
  }
  ScopedTiming t(ctx.work.timings.get(), "decode");
  ATELIER_ASSIGN_OR_RETURN(auto imgs,
                           decode_all(*out, image_limits(d, d.config.max_resolution, ctx.work)));
  return std::move(imgs[0]);
}

}  // namespace

namespace {

// The handlers of add_vision_routes(), named after their routes' operation ids,
// over what they need.
struct VisionHandlers {
  ApiDeps& d;
  vision::VisionService& svc;

  Result<Response> handle_vision_analyze(const RequestContext& ctx) const;
  Result<Response> handle_vision_detect(const RequestContext& ctx) const;
  Result<Response> handle_vision_ocr(const RequestContext& ctx) const;
  Result<Response> handle_vision_caption(const RequestContext& ctx) const;
  Result<Response> handle_vision_vqa(const RequestContext& ctx) const;
};

Result<Response> VisionHandlers::handle_vision_analyze(const RequestContext& ctx) const {
  ImageRequest in;
  ATELIER_ASSIGN_OR_RETURN(image::Image img, one_image(ctx, d, &in));
  vision::AnalyzeOptions o;
  ATELIER_ASSIGN_OR_RETURN(double ms, in.number(ctx.req, "min_score", 0.3, 0, 1));
  o.min_score = float(ms);
  ATELIER_ASSIGN_OR_RETURN(o.classify, in.flag(ctx.req, "classify", true));
  ATELIER_ASSIGN_OR_RETURN(o.colors, in.flag(ctx.req, "colors", true));
  ATELIER_ASSIGN_OR_RETURN(o.ocr, in.flag(ctx.req, "ocr", false));
  ATELIER_ASSIGN_OR_RETURN(o.caption, in.flag(ctx.req, "caption", false));
  ATELIER_ASSIGN_OR_RETURN(double mc, in.number(ctx.req, "max_colors", 5, 1, 12));
  o.max_colors = int(mc);
  ATELIER_ASSIGN_OR_RETURN(double p, in.number(ctx.req, "psm", 3, 0, 13));
  o.psm = int(p);
  ATELIER_ASSIGN_OR_RETURN(vision::Analysis a, svc.analyze(img, o, ctx.work));
  return Response::json_ordered(200, analysis_json(a));
}

Result<Response> VisionHandlers::handle_vision_detect(const RequestContext& ctx) const {
  ImageRequest in;
  ATELIER_ASSIGN_OR_RETURN(image::Image img, one_image(ctx, d, &in));
  ATELIER_ASSIGN_OR_RETURN(double ms, in.number(ctx.req, "min_score", 0.3, 0, 1));
  Result<vision::Analysis> a = Status::internal("not run");
  {
    ScopedTiming t(ctx.work.timings.get(), "detect");
    a = svc.detect(img, float(ms), ctx.work);
  }
  if (!a.is_ok()) return a.status();
  ScopedTiming t(ctx.work.timings.get(), "json");
  return Response::json_ordered(200, analysis_json(*a));
}

Result<Response> VisionHandlers::handle_vision_ocr(const RequestContext& ctx) const {
  ImageRequest in;
  ATELIER_ASSIGN_OR_RETURN(image::Image img, one_image(ctx, d, &in));
  ATELIER_ASSIGN_OR_RETURN(double p, in.number(ctx.req, "psm", 3, 0, 13));
  ATELIER_ASSIGN_OR_RETURN(vision::Analysis a, svc.ocr(img, int(p), ctx.work));
  return Response::json_ordered(200, analysis_json(a, true));
}

Result<Response> VisionHandlers::handle_vision_caption(const RequestContext& ctx) const {
  ImageRequest in;
  ATELIER_ASSIGN_OR_RETURN(image::Image img, one_image(ctx, d, &in));
  ATELIER_ASSIGN_OR_RETURN(vision::Analysis a, svc.caption(img, ctx.work));
  return Response::json_ordered(200, analysis_json(a));
}

Result<Response> VisionHandlers::handle_vision_vqa(const RequestContext& ctx) const {
  ImageRequest in;
  ATELIER_ASSIGN_OR_RETURN(in, read_images(ctx.req, 1, url_policy(d.config), ctx.work));
  std::string q;
  if (!in.option(ctx.req, "question", &q) || q.empty())
    return Status::invalid_argument("'question' is required");
  if (q.size() > 500) return Status::payload_too_large("'question' is longer than 500 bytes");
  ATELIER_ASSIGN_OR_RETURN(auto imgs,
                           decode_all(in, image_limits(d, d.config.max_resolution, ctx.work)));
  ATELIER_ASSIGN_OR_RETURN(vision::Analysis a, svc.vqa(imgs[0], q, ctx.work));
  return Response::json_ordered(200, analysis_json(a));
}

}  // namespace

void add_vision_routes(http::Router& router, ApiDeps& d, vision::VisionService& svc) {
  const nlohmann::json min_score = {
      {"type", "number"}, {"minimum", 0}, {"maximum", 1}, {"default", 0.3}};
  const nlohmann::json psm = {
      {"type", "integer"},
      {"minimum", 0},
      {"maximum", 13},
      {"default", 3},
      {"description", "Tesseract page segmentation mode: 3 auto, 6 block, 7 line, 11 sparse"}};
  const auto h = std::make_shared<const VisionHandlers>(VisionHandlers{d, svc});
  router.add(vision_route(
      {
          .path = "/v1/vision/analyze",
          .operation_id = "vision_analyze",
          .summary =
              "Detections, garment/furniture types, colours, and optionally OCR and a caption",
          .cost = 5,
          .handler = http::bind_handler(h, &VisionHandlers::handle_vision_analyze),
      },
      {{"min_score", min_score},
       {"classify", {{"type", "boolean"}, {"default", true}}},
       {"colors", {{"type", "boolean"}, {"default", true}}},
       {"max_colors", {{"type", "integer"}, {"minimum", 1}, {"maximum", 12}, {"default", 5}}},
       {"ocr", {{"type", "boolean"}, {"default", false}}},
       {"caption", {{"type", "boolean"}, {"default", false}}},
       {"psm", psm}},
      R"({"image": {"width": 1080, "height": 1440, "format": "jpeg", "sha256": "08d573cea9ce0a98c2ff16bde0b676bdb8bebd9b020dd62a24305738e35bf64f"}, "types": [{"type": "backpack", "category": "bag", "score": 0.969, "imagenet": "backpack"}], "colors": [{"hex": "#ffffff", "name": "white", "family": "white", "share": 0.679}, {"hex": "#464a4b", "name": "darkslategray", "family": "grey", "share": 0.243}], "detections": [{"class": "suitcase", "category": "bag", "raw_class": "suitcase", "class_id": 28, "score": 0.329, "box": {"x": 226.292, "y": 139.503, "width": 613.17, "height": 1028.0}, "colors": [{"hex": "#44494a", "name": "darkslategray", "family": "grey", "share": 0.942}], "types": [{"type": "backpack", "category": "bag", "score": 0.793, "imagenet": "backpack"}]}], "ocr": {"text": "e\nLS\nPa!", "confidence": 0.302, "lines": [{"text": "Pa!", "confidence": 0.497, "box": {"x": 442.0, "y": 591.0, "width": 31.0, "height": 11.0}, "words": [{"text": "Pa!", "confidence": 0.497, "box": {"x": 442.0, "y": 591.0, "width": 31.0, "height": 11.0}}]}]}, "caption": {"text": "a grey backpack", "confidence": 0.329, "evidence": ["detected suitcase (backpack), grey, score 32%"], "engine": "grounded-scene-1"}, "models": {"detector": "yolox-nano", "classifier": "mobilenet-v2", "ocr": "tesseract-5.3.0-eng"}, "timings_ms": {"detect": 167.884, "classify": 102.775, "colors": 1.215, "ocr": 87.775, "caption": 8.114}, "cached": false})"));
  router.add(vision_route(
      {
          .path = "/v1/vision/detect",
          .operation_id = "vision_detect",
          .summary = "Objects (COCO) mapped to atelier's categories, boxes in image pixels",
          .cost = 2,
          .handler = http::bind_handler(h, &VisionHandlers::handle_vision_detect),
      },
      {{"min_score", min_score}},
      R"({"image": {"width": 1080, "height": 1440, "format": "jpeg", "sha256": "08d573cea9ce0a98c2ff16bde0b676bdb8bebd9b020dd62a24305738e35bf64f"}, "detections": [{"class": "suitcase", "category": "bag", "raw_class": "suitcase", "class_id": 28, "score": 0.329, "box": {"x": 226.292, "y": 139.503, "width": 613.17, "height": 1028.0}}], "models": {"detector": "yolox-nano"}, "timings_ms": {"detect": 162.671}, "cached": false})"));
  router.add(vision_route(
      {
          .path = "/v1/vision/ocr",
          .operation_id = "vision_ocr",
          .summary = "Text with lines, words, boxes and confidences",
          .cost = 2,
          .handler = http::bind_handler(h, &VisionHandlers::handle_vision_ocr),
      },
      {{"psm", psm}},
      R"({"image": {"width": 959, "height": 38, "format": "png", "sha256": "516f903b8ffd3f9b074a15efa6e73d011cac783733344e7e9110cc46733ec840"}, "text": "and the existence of fast parallel algorithms for these problems.", "confidence": 0.95, "lines": [{"text": "and the existence of fast parallel algorithms for these problems.", "confidence": 0.95, "box": {"x": 3.0, "y": 3.0, "width": 953.0, "height": 32.0}, "words": [{"text": "and", "confidence": 0.968, "box": {"x": 3.0, "y": 3.0, "width": 53.0, "height": 26.0}}, {"text": "the", "confidence": 0.963, "box": {"x": 67.0, "y": 3.0, "width": 46.0, "height": 25.0}}]}], "models": {"ocr": "tesseract-5.3.0-eng"}, "timings_ms": {"ocr": 839.474}, "cached": false})"));
  router.add(vision_route(
      {
          .path = "/v1/vision/caption",
          .operation_id = "vision_caption",
          .summary = "A caption written from what the engines found (or by a hosted model)",
          .cost = 3,
          .handler = http::bind_handler(h, &VisionHandlers::handle_vision_caption),
      },
      {},
      R"({"image": {"width": 1080, "height": 1440, "format": "jpeg", "sha256": "08d573cea9ce0a98c2ff16bde0b676bdb8bebd9b020dd62a24305738e35bf64f"}, "types": [{"type": "backpack", "category": "bag", "score": 0.969, "imagenet": "backpack"}], "colors": [{"hex": "#ffffff", "name": "white", "family": "white", "share": 0.679}, {"hex": "#464a4b", "name": "darkslategray", "family": "grey", "share": 0.243}], "detections": [{"class": "suitcase", "category": "bag", "raw_class": "suitcase", "class_id": 28, "score": 0.329, "box": {"x": 226.292, "y": 139.503, "width": 613.17, "height": 1028.0}, "colors": [{"hex": "#44494a", "name": "darkslategray", "family": "grey", "share": 0.942}], "types": [{"type": "backpack", "category": "bag", "score": 0.793, "imagenet": "backpack"}]}], "ocr": {"text": "e\nLS\nPa!", "confidence": 0.302, "lines": [{"text": "Pa!", "confidence": 0.497, "box": {"x": 442.0, "y": 591.0, "width": 31.0, "height": 11.0}, "words": [{"text": "Pa!", "confidence": 0.497, "box": {"x": 442.0, "y": 591.0, "width": 31.0, "height": 11.0}}]}]}, "caption": {"text": "a grey backpack", "confidence": 0.329, "evidence": ["detected suitcase (backpack), grey, score 32%"], "engine": "grounded-scene-1"}, "models": {"detector": "yolox-nano", "classifier": "mobilenet-v2", "ocr": "tesseract-5.3.0-eng"}, "timings_ms": {"detect": 132.238, "classify": 126.068, "colors": 221.445, "ocr": 358.34, "caption": 22.488}, "cached": false})"));
  router.add(vision_route(
      {
          .path = "/v1/vision/vqa",
          .operation_id = "vision_vqa",
          .summary =
              "Answer a question about the image, with the evidence; 'unknown' when ungrounded",
          .cost = 3,
          .handler = http::bind_handler(h, &VisionHandlers::handle_vision_vqa),
      },
      {{"question", {{"type", "string"}, {"maxLength", 500}}}},
      R"({"image": {"width": 1080, "height": 1440, "format": "jpeg", "sha256": "08d573cea9ce0a98c2ff16bde0b676bdb8bebd9b020dd62a24305738e35bf64f"}, "question": "what colour is the bag?", "types": [{"type": "backpack", "category": "bag", "score": 0.969, "imagenet": "backpack"}], "colors": [{"hex": "#ffffff", "name": "white", "family": "white", "share": 0.679}, {"hex": "#464a4b", "name": "darkslategray", "family": "grey", "share": 0.243}], "detections": [{"class": "suitcase", "category": "bag", "raw_class": "suitcase", "class_id": 28, "score": 0.329, "box": {"x": 226.292, "y": 139.503, "width": 613.17, "height": 1028.0}, "colors": [{"hex": "#44494a", "name": "darkslategray", "family": "grey", "share": 0.942}], "types": [{"type": "backpack", "category": "bag", "score": 0.793, "imagenet": "backpack"}]}], "ocr": {"text": "e\nLS\nPa!", "confidence": 0.302, "lines": [{"text": "Pa!", "confidence": 0.497, "box": {"x": 442.0, "y": 591.0, "width": 31.0, "height": 11.0}, "words": [{"text": "Pa!", "confidence": 0.497, "box": {"x": 442.0, "y": 591.0, "width": 31.0, "height": 11.0}}]}]}, "answer": {"text": "grey", "confidence": 0.7, "evidence": ["dominant colour of the detected suitcase box is grey"], "engine": "grounded-scene-1"}, "models": {"detector": "yolox-nano", "classifier": "mobilenet-v2", "ocr": "tesseract-5.3.0-eng"}, "timings_ms": {"detect": 218.775, "classify": 189.711, "colors": 1.886, "ocr": 321.845, "answer": 16.151}, "cached": false})"));
}

}  // namespace atelier::api
