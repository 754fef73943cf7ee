#include "vision/stack.h"

#include <opencv2/core.hpp>

#include "engines/hosted/openai_vision.h"
#include "engines/local/grounded_scene.h"
#include "models/paths.h"
#include "obs/log.h"

namespace atelier::vision {

namespace {

BatcherOptions batcher_options(const Config& c) {
  BatcherOptions bo;
  bo.max_batch = static_cast<std::size_t>(c.batch_max);
  bo.window = std::chrono::microseconds(static_cast<long long>(c.batch_window_ms * 1000));
  bo.queue_capacity = static_cast<std::size_t>(c.inference_queue);
  return bo;
}

// Records why `model` is not loaded, for its health probe and the 503s.
void note(VisionStack& v, const std::string& model, const Status& st) {
  v.errors[model] = st.message();
  log::warn("model not loaded", {{"model", model}, {"error", st.message()}});
}

void load_detector(const Config& c, Metrics& metrics, const BatcherOptions& bo, VisionStack& v) {
  auto model = find_model(c, "yolox-nano/yolox_nano.onnx");
  auto labels = find_model(c, "yolox-nano/coco_classes.txt");
  if (!model.is_ok() || !labels.is_ok()) {
    note(v, "yolox-nano", model.is_ok() ? labels.status() : model.status());
  } else {
    engines::YoloxOptions o;
    o.model_path = *model;
    o.labels_path = *labels;
    o.replicas = c.model_threads;  // 0: one per OpenCV thread
    o.batching = bo;
    o.observe = metrics.model_observer("yolox-nano");
    auto d = engines::YoloxDetector::load(o);
    if (d.is_ok()) {
      v.detector = std::move(d).value();
      log::info("model loaded", {{"model", "yolox-nano"}, {"path", *model}});
    } else {
      note(v, "yolox-nano", d.status());
    }
  }
}

void load_encoder(const Config& c, Metrics& metrics, const BatcherOptions& bo, VisionStack& v) {
  auto model = find_model(c, "mobilenet-v2/mobilenet_v2_1.0_224_tf2_fp32.onnx");
  auto labels = find_model(c, "mobilenet-v2/imagenet_labels_1001_coral.txt");
  if (!model.is_ok() || !labels.is_ok()) {
    note(v, "mobilenet-v2", model.is_ok() ? labels.status() : model.status());
  } else {
    engines::MobileNetOptions o{*model, *labels, bo, metrics.model_observer("mobilenet-v2")};
    auto e = engines::MobileNetEncoder::load(o);
    if (e.is_ok()) {
      v.encoder = std::move(e).value();
      log::info("model loaded", {{"model", "mobilenet-v2"}, {"path", *model}});
    } else {
      note(v, "mobilenet-v2", e.status());
    }
  }
}

void load_ocr(const Config& c, VisionStack& v) {
  auto o = engines::TesseractOcr::load(
      {c.tessdata_dir, c.ocr_language, static_cast<std::size_t>(c.ocr_instances)});
  if (o.is_ok()) {
    v.ocr = std::move(o).value();
    log::info("model loaded", {{"model", v.ocr->model()}});
  } else {
    note(v, "tesseract", o.status());
  }
}

void make_describer(const Config& c, VisionStack& v) {
  if (c.caption_engine == "openai") {
    v.describer = std::make_unique<engines::OpenAiVisionDescriber>(
        engines::OpenAiVisionOptions{c.openai_base_url, c.openai_model, c.openai_api_key,
                                     std::chrono::seconds(c.openai_timeout_s), 300});
    log::info("caption engine",
              {{"engine", v.describer->model()}, {"base_url", c.openai_base_url}});
  } else {
    v.describer = std::make_unique<engines::GroundedSceneDescriber>();
  }
}

void add_health_probes(HealthRegistry& health, VisionStack& v) {
  for (const char* name : {"yolox-nano", "mobilenet-v2", "tesseract"}) {
    const std::string model = name;
    VisionStack* vs = &v;
    health.add("model:" + model, false, [vs, model] {
      auto it = vs->errors.find(model);
      nlohmann::json info = nlohmann::json::object();
      if (model == "yolox-nano" && vs->detector) info["queued"] = vs->detector->queued();
      if (model == "mobilenet-v2" && vs->encoder) info["queued"] = vs->encoder->queued();
      if (model == "tesseract" && vs->ocr) info["engine"] = vs->ocr->model();
      return ComponentHealth{it == vs->errors.end(), it == vs->errors.end() ? "" : it->second,
                             info};
    });
  }
}

void add_queue_gauges(Metrics& metrics, const VisionStack& v) {
  if (v.detector) {
    auto* d = v.detector.get();
    metrics.add_sampled_gauge("atelier_inference_queue_depth",
                              "Inputs waiting for a model forward.", {{"model", "yolox-nano"}},
                              [d] { return double(d->queued()); });
  }
  if (v.encoder) {
    auto* e = v.encoder.get();
    metrics.add_sampled_gauge("atelier_inference_queue_depth",
                              "Inputs waiting for a model forward.", {{"model", "mobilenet-v2"}},
                              [e] { return double(e->queued()); });
  }
}

// Why `model` is not loaded, or "" when it is.
std::string why(const VisionStack& v, const char* model) {
  auto it = v.errors.find(model);
  return it == v.errors.end() ? std::string() : it->second;
}

void build_service(VisionStack& v) {
  vision::Engines e;
  e.detector = v.detector.get();
  e.encoder = v.encoder.get();
  e.ocr = v.ocr.get();
  e.describer = v.describer.get();
  v.encoder_error = why(v, "mobilenet-v2");
  e.missing = {{"detector", why(v, "yolox-nano")},
               {"encoder", why(v, "mobilenet-v2")},
               {"ocr", why(v, "tesseract")}};
  v.service = std::make_unique<vision::VisionService>(std::move(e), v.cache.get());
}

}  // namespace

std::unique_ptr<VisionStack> build_vision(const Config& c, Metrics& metrics, HealthRegistry& health,
                                          std::unique_ptr<cache::Cache> cache) {
  auto v = std::make_unique<VisionStack>();
  if (c.model_threads > 0) cv::setNumThreads(c.model_threads);
  BatcherOptions bo = batcher_options(c);

  load_detector(c, metrics, bo, *v);
  load_encoder(c, metrics, bo, *v);
  load_ocr(c, *v);
  make_describer(c, *v);

  add_health_probes(health, *v);
  add_queue_gauges(metrics, *v);

  v->cache = std::move(cache);
  build_service(*v);
  return v;
}

}  // namespace atelier::vision
