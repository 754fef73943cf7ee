#include "engines/local/tesseract_ocr.h"

#include <tesseract/baseapi.h>
#include <tesseract/ocrclass.h>
#include <tesseract/resultiterator.h>

#include <opencv2/imgproc.hpp>

namespace atelier::engines {

void TesseractOcr::ApiDeleter::operator()(tesseract::TessBaseAPI* api) const {
  api->End();
  delete api;  // NOLINT(cppcoreguidelines-owning-memory): the C++ API's own ownership contract
}

Result<TesseractOcr::ApiPtr> TesseractOcr::make_api() const {
  ApiPtr api(new tesseract::TessBaseAPI());  // NOLINT: released by ApiDeleter
  const char* dir = opt_.tessdata_dir.empty() ? nullptr : opt_.tessdata_dir.c_str();
  if (api->Init(dir, opt_.language.c_str(), tesseract::OEM_LSTM_ONLY) != 0) {
    return Status::unavailable("Tesseract cannot load language '" + opt_.language + "'" +
                               (dir ? std::string(" from ") + dir : std::string()));
  }
  api->SetVariable("debug_file", "/dev/null");  // keep Tesseract's chatter out of the JSON logs
  return api;
}

TesseractOcr::~TesseractOcr() = default;

Result<std::unique_ptr<TesseractOcr>> TesseractOcr::load(TesseractOptions opt) {
  auto o = std::make_unique<TesseractOcr>(Key{});
  o->opt_ = std::move(opt);
  if (o->opt_.instances == 0) o->opt_.instances = 1;
  ATELIER_ASSIGN_OR_RETURN(ApiPtr first, o->make_api());
  o->model_ =
      std::string("tesseract-") + tesseract::TessBaseAPI::Version() + "-" + o->opt_.language;
  {
    MutexLock lk(o->mu_);  // not yet shared: taken for the analysis only
    o->idle_.push_back(std::move(first));
    o->created_ = 1;
  }
  return o;
}

namespace {

struct Monitor {
  const WorkContext* work;
  static bool cancel(void* self, int /*words*/) {
    return !static_cast<Monitor*>(self)->work->check().is_ok();
  }
};

Box box_of(tesseract::ResultIterator* it, tesseract::PageIteratorLevel level) {
  int l = 0, t = 0, r = 0, b = 0;
  it->BoundingBox(level, &l, &t, &r, &b);
  return {float(l), float(t), float(r - l), float(b - t)};
}

std::string text_of(tesseract::ResultIterator* it, tesseract::PageIteratorLevel level) {
  std::unique_ptr<char[]> t(it->GetUTF8Text(level));
  std::string s = t ? t.get() : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Runs recognition on the image set on `api`, stopping at the deadline or on
// cancellation (the work context's error then).
Status recognize(tesseract::TessBaseAPI& api, const WorkContext& work) {
  Monitor mon{&work};
  tesseract::ETEXT_DESC desc;
  desc.cancel = &Monitor::cancel;
  desc.cancel_this = &mon;
  const auto remaining = work.deadline.remaining().count();
  if (remaining < 1'000'000'000)
    desc.set_deadline_msecs(static_cast<int32_t>(std::max<long long>(1, remaining)));
  if (api.Recognize(&desc) != 0) {
    ATELIER_RETURN_IF_ERROR(work.check());
    return Status::invalid_argument("OCR failed on this image");
  }
  ATELIER_RETURN_IF_ERROR(work.check());
  return Status::ok();
}

// The recognised lines and their words, with the mean word confidence.
OcrResult collect_lines(tesseract::TessBaseAPI& api) {
  OcrResult out;
  double conf_sum = 0;
  int conf_n = 0;
  std::unique_ptr<tesseract::ResultIterator> it(api.GetIterator());
  if (it) {
    do {
      if (it->Empty(tesseract::RIL_TEXTLINE)) continue;
      OcrLine line;
      line.text = text_of(it.get(), tesseract::RIL_TEXTLINE);
      line.box = box_of(it.get(), tesseract::RIL_TEXTLINE);
      line.confidence = it->Confidence(tesseract::RIL_TEXTLINE) / 100.0f;
      do {
        if (it->Empty(tesseract::RIL_WORD)) continue;
        OcrWord w;
        w.text = text_of(it.get(), tesseract::RIL_WORD);
        w.box = box_of(it.get(), tesseract::RIL_WORD);
        w.confidence = it->Confidence(tesseract::RIL_WORD) / 100.0f;
        conf_sum += w.confidence;
        ++conf_n;
        line.words.push_back(std::move(w));
      } while (!it->IsAtFinalElement(tesseract::RIL_TEXTLINE, tesseract::RIL_WORD) &&
               it->Next(tesseract::RIL_WORD));
      if (line.text.empty()) continue;
      if (!out.text.empty()) out.text += "\n";
      out.text += line.text;
      out.lines.push_back(std::move(line));
    } while (it->Next(tesseract::RIL_TEXTLINE));
  }
  out.confidence = conf_n ? float(conf_sum / conf_n) : 0.0f;
  return out;
}

}  // namespace

// An idle instance, or a new one while fewer than `instances` exist; else waits
// for one until the deadline.
Result<TesseractOcr::ApiPtr> TesseractOcr::borrow_api(const WorkContext& work) {
  ApiPtr api;
  MutexLock lk(mu_);
  if (idle_.empty() && created_ < opt_.instances) {
    ++created_;
    lk.unlock();
    auto made = make_api();
    if (!made.is_ok()) {
      MutexLock relock(mu_);
      --created_;
      return made.status();
    }
    api = std::move(made).value();
  } else {
    while (idle_.empty()) {
      if (!cv_.wait_until(mu_, work.deadline.at) && idle_.empty()) {
        return Status::deadline_exceeded("no OCR engine became free before the deadline");
      }
    }
    api = std::move(idle_.back());
    idle_.pop_back();
  }
  return api;
}

Result<OcrResult> TesseractOcr::read(const cv::Mat& bgr, int psm, const WorkContext& work) {
  if (psm < 0 || psm > 13)
    return Status::invalid_argument("psm must be a Tesseract page segmentation mode 0..13");
  ATELIER_ASSIGN_OR_RETURN(ApiPtr api, borrow_api(work));
  // Give the instance back however this call ends.
  struct Return {
    TesseractOcr* self;
    ApiPtr* api;
    ~Return() {
      (*api)->Clear();
      MutexLock lk(self->mu_);
      self->idle_.push_back(std::move(*api));
      self->cv_.notify_one();
    }
  } give_back{this, &api};

  cv::Mat gray;
  if (bgr.channels() == 3) {
    cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  } else {
    gray = bgr;
  }
  api->SetPageSegMode(static_cast<tesseract::PageSegMode>(psm));
  api->SetImage(gray.data, gray.cols, gray.rows, 1, static_cast<int>(gray.step));
  api->SetSourceResolution(300);

  ATELIER_RETURN_IF_ERROR(recognize(*api, work));
  return collect_lines(*api);
}

}  // namespace atelier::engines
