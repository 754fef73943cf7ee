#include "vision/service.h"

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>

#include "core/json.h"

namespace atelier::engines {
// The result cache's encoding of engine results (not the wire format: routes
// shape that). Unknown or missing fields fail the parse and the entry is
// recomputed, so a cache written by an older build is never misread.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Box, x, y, w, h)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(OcrWord, text, box, confidence)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(OcrLine, text, box, confidence, words)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(OcrResult, text, lines, confidence)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Description, text, confidence, evidence)
}  // namespace atelier::engines

namespace atelier::vision {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Lab, L, a, b)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(PaletteColor, hex, name, family, share, lab)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(TypeScore, type, category, imagenet, score)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ImageInfo, width, height, format, sha256)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Described, description, engine)

using json::get_optional;
using json::put_optional;

void to_json(nlohmann::json& j, const DetectedObject& d) {
  j = {{"type", d.type},         {"category", d.category}, {"raw_class", d.raw_class},
       {"class_id", d.class_id}, {"score", d.score},       {"box", d.box},
       {"colors", d.colors}};
  put_optional(j, "types", d.types);
}
void from_json(const nlohmann::json& j, DetectedObject& d) {
  j.at("type").get_to(d.type);
  j.at("category").get_to(d.category);
  j.at("raw_class").get_to(d.raw_class);
  j.at("class_id").get_to(d.class_id);
  j.at("score").get_to(d.score);
  j.at("box").get_to(d.box);
  j.at("colors").get_to(d.colors);
  get_optional(j, "types", d.types);
}
void to_json(nlohmann::json& j, const Analysis& a) {
  j = {{"image", a.image},
       {"question", a.question},
       {"models", a.models},
       {"timings_ms", a.timings_ms}};
  put_optional(j, "types", a.types);
  put_optional(j, "colors", a.colors);
  put_optional(j, "detections", a.detections);
  put_optional(j, "ocr", a.ocr);
  put_optional(j, "caption", a.caption);
  put_optional(j, "answer", a.answer);
}
void from_json(const nlohmann::json& j, Analysis& a) {
  j.at("image").get_to(a.image);
  j.at("question").get_to(a.question);
  j.at("models").get_to(a.models);
  j.at("timings_ms").get_to(a.timings_ms);
  get_optional(j, "types", a.types);
  get_optional(j, "colors", a.colors);
  get_optional(j, "detections", a.detections);
  get_optional(j, "ocr", a.ocr);
  get_optional(j, "caption", a.caption);
  get_optional(j, "answer", a.answer);
}

struct VisionService::Scene {
  Analysis analysis;
  engines::SceneFacts facts;
};

namespace {

// Engines see the downscaled image; callers get their own coordinates.
engines::Box unscaled(const engines::Box& b, double scale) {
  const double s = 1.0 / scale;
  return {float(b.x * s), float(b.y * s), float(b.w * s), float(b.h * s)};
}

engines::OcrResult unscaled(engines::OcrResult r, double scale) {
  for (auto& l : r.lines) {
    l.box = unscaled(l.box, scale);
    for (auto& w : l.words) w.box = unscaled(w.box, scale);
  }
  return r;
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
  return std::chrono::duration<double, std::milli>(SteadyClock::now() - t).count();
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
Result<Analysis> VisionService::cached(const std::string& key, F&& compute) {
  if (cache_) {
    if (auto hit = cache_->get(key)) {
      nlohmann::json j = nlohmann::json::parse(*hit, nullptr, false);
      if (!j.is_discarded()) {
        try {
          Analysis a = j.get<Analysis>();
          a.cached = true;
          return a;
        } catch (const nlohmann::json::exception&) {
          // An entry of another shape: recompute and overwrite it.
        }
      }
    }
  }
  Result<Analysis> r = compute();
  if (r.is_ok() && cache_) cache_->put(key, nlohmann::json(r.value()).dump());
  return r;
}

namespace {

// A detection as the analysis reports it (taxon, box in the caller's
// pixels, colours, the classifier's types when its box was classified) and
// as a scene fact (the most likely type that fits its category).
std::pair<DetectedObject, engines::SceneObject> describe_detection(
    const image::Image& img, const engines::Detection& d, bool colors,
    const engines::ImageFeatures* features, const std::vector<std::string>* labels) {
  TaxonEntry tx = coco_taxon(d.label);
  DetectedObject item{tx.type,    tx.category, d.label,
                      d.class_id, d.score,     unscaled(d.box, img.scale),
                      {},         std::nullopt};
  engines::SceneObject obj{tx.type, "", "", d.box, d.score};
  if (colors) {
    item.colors = dominant_colors(img.bgr, colour_region(d), 3);
    if (!item.colors.empty()) obj.colour = item.colors[0].family;
  }
  if (features && labels) {
    item.types = types_from_probs(features->probs, *labels, 0.1, 3);
    for (const auto& t : *item.types) {
      if (t.score >= 0.25 && compatible(tx.category, t.category)) {
        obj.type = t.type;
        obj.type_score = float(t.score);
        break;
      }
    }
  }
  return {std::move(item), std::move(obj)};
}

}  // namespace

Result<VisionService::Scene> VisionService::build_scene(const image::Image& img,
                                                        const AnalyzeOptions& opt,
                                                        const WorkContext& work) {
  Scene sc;
  Analysis& a = sc.analysis;
  a.image = {img.width, img.height, std::string(image::format_name(img.header.format)),
             img.sha256_hex};
  const double s = img.scale;
  sc.facts.width = img.width;
  sc.facts.height = img.height;

  std::vector<engines::Detection> dets;
  if (opt.detect) {
    ATELIER_RETURN_IF_ERROR(need(e_.detector, "detector"));
    auto t = SteadyClock::now();
    ATELIER_ASSIGN_OR_RETURN(dets, e_.detector->detect(img.bgr, opt.min_score, work));
    a.timings_ms.emplace_back("detect", ms_since(t));
    a.models.emplace_back("detector", e_.detector->model());
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
    a.timings_ms.emplace_back("classify", ms_since(t));
    a.models.emplace_back("classifier", e_.encoder->model());
  }
  ATELIER_RETURN_IF_ERROR(work.check());

  const auto* labels = e_.encoder ? &e_.encoder->labels() : nullptr;
  if (opt.classify) {
    a.types = types_from_probs(feats[0].probs, *labels, 0.1, 5);
    for (const auto& t : *a.types) sc.facts.image_types.push_back(t.type);
  }
  if (opt.colors) {
    auto t = SteadyClock::now();
    a.colors = dominant_colors(img.bgr, cv::Rect(0, 0, img.bgr.cols, img.bgr.rows), opt.max_colors);
    for (const auto& c : *a.colors) sc.facts.palette.push_back(c.family);
    a.timings_ms.emplace_back("colors", ms_since(t));
  }
  if (opt.detect) {
    a.detections.emplace();
    for (std::size_t i = 0; i < dets.size(); ++i) {
      // The box's features, when it was one of those classified.
      const engines::ImageFeatures* f = nullptr;
      if (auto k = std::find(classified.begin(), classified.end(), i); k != classified.end())
        f = &feats[1 + (k - classified.begin())];
      auto [item, obj] = describe_detection(img, dets[i], opt.colors, f, labels);
      sc.facts.objects.push_back(std::move(obj));
      a.detections->push_back(std::move(item));
    }
  }
  if (opt.ocr) {
    ATELIER_RETURN_IF_ERROR(need(e_.ocr, "ocr"));
    auto t = SteadyClock::now();
    ATELIER_ASSIGN_OR_RETURN(engines::OcrResult r, e_.ocr->read(img.bgr, opt.psm, work));
    a.timings_ms.emplace_back("ocr", ms_since(t));
    a.models.emplace_back("ocr", e_.ocr->model());
    sc.facts.text = confident_text(r);
    a.ocr = unscaled(std::move(r), s);
  }
  return sc;
}

namespace {

std::string jpeg_of(const cv::Mat& bgr) {
  std::vector<unsigned char> buf;
  cv::imencode(".jpg", bgr, buf, {cv::IMWRITE_JPEG_QUALITY, 90});
  return std::string(buf.begin(), buf.end());
}

// What a caption or an answer rests on: everything the local engines see.
AnalyzeOptions scene_options(const Engines& e) {
  AnalyzeOptions opt;
  opt.ocr = e.ocr != nullptr;
  opt.psm = 11;  // sparse text: signs and labels in photos
  return opt;
}

}  // namespace

Result<Analysis> VisionService::analyze(const image::Image& img, const AnalyzeOptions& opt,
                                        const WorkContext& work) {
  std::string o = std::to_string(opt.detect) + std::to_string(opt.classify) +
                  std::to_string(opt.colors) + std::to_string(opt.ocr) +
                  std::to_string(opt.caption) + "," + std::to_string(opt.min_score) + "," +
                  std::to_string(opt.max_colors) + "," + std::to_string(opt.psm);
  return cached(cache_key("analyze", o, img), [&]() -> Result<Analysis> {
    if (opt.caption) ATELIER_RETURN_IF_ERROR(need(e_.describer, "describer"));
    ATELIER_ASSIGN_OR_RETURN(Scene sc, build_scene(img, opt, work));
    if (opt.caption) {
      auto t = SteadyClock::now();
      ATELIER_ASSIGN_OR_RETURN(engines::Description d,
                               e_.describer->caption(sc.facts, jpeg_of(img.bgr), work));
      sc.analysis.caption = Described{std::move(d), e_.describer->model()};
      sc.analysis.timings_ms.emplace_back("caption", ms_since(t));
    }
    return std::move(sc.analysis);
  });
}

Result<Analysis> VisionService::detect(const image::Image& img, float min_score,
                                       const WorkContext& work) {
  AnalyzeOptions opt;
  opt.classify = opt.colors = false;
  opt.min_score = min_score;
  return cached(cache_key("detect", std::to_string(min_score), img), [&]() -> Result<Analysis> {
    ATELIER_ASSIGN_OR_RETURN(Scene sc, build_scene(img, opt, work));
    return std::move(sc.analysis);
  });
}

Result<Analysis> VisionService::ocr(const image::Image& img, int psm, const WorkContext& work) {
  AnalyzeOptions opt;
  opt.detect = opt.classify = opt.colors = false;
  opt.ocr = true;
  opt.psm = psm;
  return cached(cache_key("ocr", std::to_string(psm), img), [&]() -> Result<Analysis> {
    ATELIER_ASSIGN_OR_RETURN(Scene sc, build_scene(img, opt, work));
    return std::move(sc.analysis);
  });
}

Result<Analysis> VisionService::caption(const image::Image& img, const WorkContext& work) {
  return cached(cache_key("caption", "", img), [&]() -> Result<Analysis> {
    ATELIER_RETURN_IF_ERROR(need(e_.describer, "describer"));
    ATELIER_ASSIGN_OR_RETURN(Scene sc, build_scene(img, scene_options(e_), work));
    auto t = SteadyClock::now();
    ATELIER_ASSIGN_OR_RETURN(engines::Description d,
                             e_.describer->caption(sc.facts, jpeg_of(img.bgr), work));
    sc.analysis.caption = Described{std::move(d), e_.describer->model()};
    sc.analysis.timings_ms.emplace_back("caption", ms_since(t));
    return std::move(sc.analysis);
  });
}

std::vector<engines::OutfitPiece> outfit_pieces(const engines::SceneFacts& f) {
  const engines::SceneObject* person = nullptr;
  for (const auto& o : f.objects)
    if (o.name == "person" && o.box.h >= 80 &&
        (!person || o.box.w * o.box.h > person->box.w * person->box.h))
      person = &o;
  if (!person) return {};
  const engines::Box& b = person->box;
  // A standing figure: the head ends near 0.18 of its height, the waist lies
  // near 0.5, the hem or knees by 0.88; the arms take the box's sides.
  auto band = [&b](float top, float bottom) {
    return engines::Box{b.x + 0.15f * b.w, b.y + top * b.h, 0.7f * b.w, (bottom - top) * b.h};
  };
  static const std::vector<std::string> dresses = {"gown", "kimono", "abaya", "dress"};
  const bool dress = person->type_score >= 0.45f &&
                     std::find(dresses.begin(), dresses.end(), person->type) != dresses.end();
  std::vector<engines::OutfitPiece> pieces;
  if (dress) {
    pieces.push_back({band(0.18f, 0.85f), "dress"});
  } else {
    pieces.push_back({band(0.18f, 0.5f), "top"});
    pieces.push_back({band(0.5f, 0.88f), "bottom"});
  }
  for (const auto& o : f.objects) {
    const std::string category = o.name == "handbag" || o.name == "backpack" ? "bag"
                                 : o.name == "tie"                           ? "accessory"
                                                                             : "";
    if (category.empty()) continue;
    const float cx = o.box.x + o.box.w / 2, cy = o.box.y + o.box.h / 2;
    if (cx >= b.x - 0.25f * b.w && cx <= b.x + 1.25f * b.w && cy >= b.y && cy <= b.y + b.h)
      pieces.push_back({o.box, category});
  }
  if (pieces.size() < 2) return {};
  return pieces;
}

Result<Analysis> VisionService::vqa(const image::Image& img, const std::string& question,
                                    const WorkContext& work) {
  return cached(cache_key("vqa", question, img), [&]() -> Result<Analysis> {
    ATELIER_RETURN_IF_ERROR(need(e_.describer, "describer"));
    ATELIER_ASSIGN_OR_RETURN(Scene sc, build_scene(img, scene_options(e_), work));
    auto t = SteadyClock::now();
    if (judge_ && engines::asks_about_outfit(question)) {
      auto pieces = outfit_pieces(sc.facts);
      if (!pieces.empty()) {
        auto judged = judge_(img.bgr, pieces, work);
        if (judged.is_ok()) {
          sc.facts.outfit = std::move(judged).value();
          sc.facts.outfit_pieces = std::move(pieces);
        } else if (judged.status().code() == Code::cancelled ||
                   judged.status().code() == Code::deadline_exceeded) {
          return judged.status();
        }  // otherwise (no tagger model): the describer says it cannot tell
      }
      sc.analysis.timings_ms.emplace_back("outfit", ms_since(t));
      t = SteadyClock::now();
    }
    ATELIER_ASSIGN_OR_RETURN(engines::Description d,
                             e_.describer->answer(question, sc.facts, jpeg_of(img.bgr), work));
    sc.analysis.question = question;
    sc.analysis.answer = Described{std::move(d), e_.describer->model()};
    sc.analysis.timings_ms.emplace_back("answer", ms_since(t));
    return std::move(sc.analysis);
  });
}

}  // namespace atelier::vision
