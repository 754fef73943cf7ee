#include "vision/service.h"

#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "vision/colors.h"
#include "vision/taxonomy.h"

namespace atelier::vision {

using nlohmann::ordered_json;

struct VisionService::Scene {
  ordered_json json;
  engines::SceneFacts facts;
};

namespace {

double round3(double v) {
  return std::round(v * 1000.0) / 1000.0;
}

ordered_json box_json(const engines::Box& b, double scale) {
  // Engines see the downscaled image; callers get their own coordinates.
  const double s = 1.0 / scale;
  return {{"x", round3(b.x * s)},
          {"y", round3(b.y * s)},
          {"width", round3(b.w * s)},
          {"height", round3(b.h * s)}};
}

ordered_json colors_json(const std::vector<PaletteColor>& p) {
  ordered_json a = ordered_json::array();
  for (const auto& c : p) {
    a.push_back(
        {{"hex", c.hex}, {"name", c.name}, {"family", c.family}, {"share", round3(c.share)}});
  }
  return a;
}

ordered_json types_json(const std::vector<TypeScore>& t) {
  ordered_json a = ordered_json::array();
  for (const auto& x : t) {
    a.push_back({{"type", x.type},
                 {"category", x.category},
                 {"score", round3(x.score)},
                 {"imagenet", x.imagenet}});
  }
  return a;
}

ordered_json ocr_json(const engines::OcrResult& r, double scale) {
  ordered_json lines = ordered_json::array();
  for (const auto& l : r.lines) {
    ordered_json words = ordered_json::array();
    for (const auto& w : l.words) {
      words.push_back({{"text", w.text},
                       {"confidence", round3(w.confidence)},
                       {"box", box_json(w.box, scale)}});
    }
    lines.push_back({{"text", l.text},
                     {"confidence", round3(l.confidence)},
                     {"box", box_json(l.box, scale)},
                     {"words", std::move(words)}});
  }
  return {{"text", r.text}, {"confidence", round3(r.confidence)}, {"lines", std::move(lines)}};
}

// The region whose colour names a detected thing: for a person, the torso
// and legs (their clothes), not the background around them.
cv::Rect colour_region(const engines::Detection& d) {
  const engines::Box& b = d.box;
  if (d.label == "person") {
    return cv::Rect(int(b.x + b.w * 0.25f), int(b.y + b.h * 0.2f), std::max(1, int(b.w * 0.5f)),
                    std::max(1, int(b.h * 0.6f)));
  }
  return cv::Rect(int(b.x + b.w * 0.15f), int(b.y + b.h * 0.15f), std::max(1, int(b.w * 0.7f)),
                  std::max(1, int(b.h * 0.7f)));
}

// Words a caption may quote: confident and mostly letters or digits, so
// texture misread as text in a photo stays out.
std::string confident_text(const engines::OcrResult& r) {
  std::string out;
  for (const auto& l : r.lines) {
    std::string line;
    for (const auto& w : l.words) {
      int alnum = 0;
      for (unsigned char c : w.text) alnum += std::isalnum(c) ? 1 : 0;
      if (w.confidence < 0.75f || alnum < 2 || alnum * 2 < int(w.text.size())) continue;
      if (!line.empty()) line += ' ';
      line += w.text;
    }
    if (line.empty()) continue;
    if (!out.empty()) out += '\n';
    out += line;
  }
  return out;
}

ordered_json description_json(const engines::Description& d, const std::string& model) {
  return {{"text", d.text},
          {"confidence", round3(d.confidence)},
          {"evidence", d.evidence},
          {"engine", model}};
}

// Whether a classifier type may refine a detection: garments on a person,
// furniture on furniture; never a vase renamed a curtain.
bool compatible(const std::string& det_category, const std::string& type_category) {
  static const std::vector<std::string> worn = {"top",       "bottom",   "dress",     "outerwear",
                                                "footwear",  "swimwear", "sleepwear", "underwear",
                                                "accessory", "bag"};
  if (det_category == "person")
    return std::find(worn.begin(), worn.end(), type_category) != worn.end();
  if (det_category == "furniture")
    return type_category == "furniture" || type_category == "textile";
  return det_category == type_category;
}

double ms_since(SteadyClock::time_point t) {
  return round3(std::chrono::duration<double, std::milli>(SteadyClock::now() - t).count());
}

}  // namespace

Status VisionService::need(const void* engine, const std::string& capability) const {
  if (engine) return Status::ok();
  auto it = e_.missing.find(capability);
  return Status::unavailable("the " + capability + " engine is not loaded" +
                             (it == e_.missing.end() ? std::string() : ": " + it->second));
}

std::string VisionService::cache_key(const std::string& op, const std::string& options,
                                     const image::Image& img) const {
  std::string k = "vision|" + op + "|";
  if (e_.detector) k += e_.detector->model() + ",";
  if (e_.encoder) k += e_.encoder->model() + ",";
  if (e_.ocr) k += e_.ocr->model() + ",";
  if (e_.describer) k += e_.describer->model();
  k += "|" + options + "|" + std::to_string(img.bgr.cols) + "x" + std::to_string(img.bgr.rows) +
       "|" + img.sha256_hex;
  return k;
}

template <class F>
Result<ordered_json> VisionService::cached(const std::string& key, F&& compute) {
  if (cache_) {
    if (auto hit = cache_->get(key)) {
      ordered_json j = ordered_json::parse(*hit, nullptr, false);
      if (!j.is_discarded()) {
        j["cached"] = true;
        return j;
      }
    }
  }
  Result<ordered_json> r = compute();
  if (r.is_ok() && cache_) cache_->put(key, r.value().dump());
  if (r.is_ok()) r.value()["cached"] = false;
  return r;
}

Result<VisionService::Scene> VisionService::build_scene(const image::Image& img,
                                                        const AnalyzeOptions& opt,
                                                        const WorkContext& work) {
  Scene sc;
  ordered_json& j = sc.json;
  ordered_json timings = ordered_json::object();
  ordered_json models = ordered_json::object();
  const double s = img.scale;
  sc.facts.width = img.width;
  sc.facts.height = img.height;

  std::vector<engines::Detection> dets;
  if (opt.detect) {
    ATELIER_RETURN_IF_ERROR(need(e_.detector, "detector"));
    auto t = SteadyClock::now();
    ATELIER_ASSIGN_OR_RETURN(dets, e_.detector->detect(img.bgr, opt.min_score, work));
    timings["detect"] = ms_since(t);
    models["detector"] = e_.detector->model();
  }

  // One encoder pass for the whole image and the largest boxes together.
  std::vector<engines::ImageFeatures> feats;
  std::vector<std::size_t> classified;  // detection index per feature after the first
  if (opt.classify) {
    ATELIER_RETURN_IF_ERROR(need(e_.encoder, "encoder"));
    std::vector<cv::Mat> crops{img.bgr};
    for (std::size_t i = 0; i < dets.size() && classified.size() < opt.max_box_classify; ++i) {
      const auto& b = dets[i].box;
      if (b.w < 32 || b.h < 32) continue;
      cv::Rect r(int(b.x), int(b.y), int(b.w), int(b.h));
      r &= cv::Rect(0, 0, img.bgr.cols, img.bgr.rows);
      if (r.empty()) continue;
      crops.push_back(img.bgr(r));
      classified.push_back(i);
    }
    auto t = SteadyClock::now();
    ATELIER_ASSIGN_OR_RETURN(feats, e_.encoder->encode(crops, work));
    timings["classify"] = ms_since(t);
    models["classifier"] = e_.encoder->model();
  }
  ATELIER_RETURN_IF_ERROR(work.check());

  const auto* labels = e_.encoder ? &e_.encoder->labels() : nullptr;
  if (opt.classify) {
    auto types = types_from_probs(feats[0].probs, *labels, 0.1, 5);
    for (const auto& t : types) sc.facts.image_types.push_back(t.type);
    j["types"] = types_json(types);
  }
  if (opt.colors) {
    auto t = SteadyClock::now();
    auto pal = dominant_colors(img.bgr, cv::Rect(0, 0, img.bgr.cols, img.bgr.rows), opt.max_colors);
    for (const auto& c : pal) sc.facts.palette.push_back(c.family);
    j["colors"] = colors_json(pal);
    timings["colors"] = ms_since(t);
  }
  if (opt.detect) {
    ordered_json arr = ordered_json::array();
    for (std::size_t i = 0; i < dets.size(); ++i) {
      const auto& d = dets[i];
      TaxonEntry tx = coco_taxon(d.label);
      ordered_json item;
      item["class"] = tx.type;
      item["category"] = tx.category;
      item["raw_class"] = d.label;
      item["class_id"] = d.class_id;
      item["score"] = round3(d.score);
      item["box"] = box_json(d.box, s);
      engines::SceneObject obj{tx.type, "", "", d.box, d.score};
      if (opt.colors) {
        auto pal = dominant_colors(img.bgr, colour_region(d), 3);
        if (!pal.empty()) obj.colour = pal[0].family;
        item["colors"] = colors_json(pal);
      }
      auto k = std::find(classified.begin(), classified.end(), i);
      if (k != classified.end()) {
        auto types = types_from_probs(feats[1 + (k - classified.begin())].probs, *labels, 0.1, 3);
        for (const auto& t : types) {
          if (t.score >= 0.25 && compatible(tx.category, t.category)) {
            obj.type = t.type;
            break;
          }
        }
        item["types"] = types_json(types);
      }
      sc.facts.objects.push_back(std::move(obj));
      arr.push_back(std::move(item));
    }
    j["detections"] = std::move(arr);
  }
  if (opt.ocr) {
    ATELIER_RETURN_IF_ERROR(need(e_.ocr, "ocr"));
    auto t = SteadyClock::now();
    ATELIER_ASSIGN_OR_RETURN(engines::OcrResult r, e_.ocr->read(img.bgr, opt.psm, work));
    timings["ocr"] = ms_since(t);
    models["ocr"] = e_.ocr->model();
    sc.facts.text = confident_text(r);
    j["ocr"] = ocr_json(r, s);
  }
  j["models"] = std::move(models);
  j["timings_ms"] = std::move(timings);
  return sc;
}

namespace {

ordered_json image_json(const image::Image& img) {
  return {{"width", img.width},
          {"height", img.height},
          {"format", std::string(image::format_name(img.header.format))},
          {"sha256", img.sha256_hex}};
}

std::string jpeg_of(const cv::Mat& bgr) {
  std::vector<unsigned char> buf;
  cv::imencode(".jpg", bgr, buf, {cv::IMWRITE_JPEG_QUALITY, 90});
  return std::string(buf.begin(), buf.end());
}

}  // namespace

Result<ordered_json> VisionService::analyze(const image::Image& img, const AnalyzeOptions& opt,
                                            const WorkContext& work) {
  std::string o = std::to_string(opt.detect) + std::to_string(opt.classify) +
                  std::to_string(opt.colors) + std::to_string(opt.ocr) +
                  std::to_string(opt.caption) + "," + std::to_string(opt.min_score) + "," +
                  std::to_string(opt.max_colors) + "," + std::to_string(opt.psm);
  return cached(cache_key("analyze", o, img), [&]() -> Result<ordered_json> {
    if (opt.caption) ATELIER_RETURN_IF_ERROR(need(e_.describer, "describer"));
    ATELIER_ASSIGN_OR_RETURN(Scene sc, build_scene(img, opt, work));
    ordered_json out;
    out["image"] = image_json(img);
    for (auto& [k, v] : sc.json.items()) out[k] = v;
    if (opt.caption) {
      auto t = SteadyClock::now();
      ATELIER_ASSIGN_OR_RETURN(engines::Description d,
                               e_.describer->caption(sc.facts, jpeg_of(img.bgr), work));
      out["caption"] = description_json(d, e_.describer->model());
      out["timings_ms"]["caption"] = ms_since(t);
    }
    return out;
  });
}

Result<ordered_json> VisionService::detect(const image::Image& img, float min_score,
                                           const WorkContext& work) {
  AnalyzeOptions opt;
  opt.classify = opt.colors = false;
  opt.min_score = min_score;
  return cached(cache_key("detect", std::to_string(min_score), img), [&]() -> Result<ordered_json> {
    ATELIER_ASSIGN_OR_RETURN(Scene sc, build_scene(img, opt, work));
    ordered_json out;
    out["image"] = image_json(img);
    for (auto& [k, v] : sc.json.items()) out[k] = v;
    return out;
  });
}

Result<ordered_json> VisionService::ocr(const image::Image& img, int psm, const WorkContext& work) {
  AnalyzeOptions opt;
  opt.detect = opt.classify = opt.colors = false;
  opt.ocr = true;
  opt.psm = psm;
  return cached(cache_key("ocr", std::to_string(psm), img), [&]() -> Result<ordered_json> {
    ATELIER_ASSIGN_OR_RETURN(Scene sc, build_scene(img, opt, work));
    ordered_json out;
    out["image"] = image_json(img);
    for (auto& [k, v] : sc.json["ocr"].items()) out[k] = v;
    out["models"] = sc.json["models"];
    out["timings_ms"] = sc.json["timings_ms"];
    return out;
  });
}

namespace {
// What a caption or an answer rests on: everything the local engines see.
AnalyzeOptions scene_options(const Engines& e) {
  AnalyzeOptions opt;
  opt.ocr = e.ocr != nullptr;
  opt.psm = 11;  // sparse text: signs and labels in photos
  return opt;
}
}  // namespace

Result<ordered_json> VisionService::caption(const image::Image& img, const WorkContext& work) {
  return cached(cache_key("caption", "", img), [&]() -> Result<ordered_json> {
    ATELIER_RETURN_IF_ERROR(need(e_.describer, "describer"));
    ATELIER_ASSIGN_OR_RETURN(Scene sc, build_scene(img, scene_options(e_), work));
    auto t = SteadyClock::now();
    ATELIER_ASSIGN_OR_RETURN(engines::Description d,
                             e_.describer->caption(sc.facts, jpeg_of(img.bgr), work));
    ordered_json out;
    out["image"] = image_json(img);
    out["caption"] = description_json(d, e_.describer->model());
    sc.json["timings_ms"]["caption"] = ms_since(t);
    out["timings_ms"] = sc.json["timings_ms"];
    return out;
  });
}

Result<ordered_json> VisionService::vqa(const image::Image& img, const std::string& question,
                                        const WorkContext& work) {
  return cached(cache_key("vqa", question, img), [&]() -> Result<ordered_json> {
    ATELIER_RETURN_IF_ERROR(need(e_.describer, "describer"));
    ATELIER_ASSIGN_OR_RETURN(Scene sc, build_scene(img, scene_options(e_), work));
    auto t = SteadyClock::now();
    ATELIER_ASSIGN_OR_RETURN(engines::Description d,
                             e_.describer->answer(question, sc.facts, jpeg_of(img.bgr), work));
    ordered_json out;
    out["image"] = image_json(img);
    out["question"] = question;
    out["answer"] = description_json(d, e_.describer->model());
    sc.json["timings_ms"]["answer"] = ms_since(t);
    out["timings_ms"] = sc.json["timings_ms"];
    return out;
  });
}

}  // namespace atelier::vision
