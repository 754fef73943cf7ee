// OCR with Tesseract 5 (LSTM engine). A TessBaseAPI instance is not
// thread-safe and costs ~100 ms to initialise, so a small pool of instances
// is kept; a call borrows one for its duration. Deadlines and cancellation
// reach Tesseract through its progress monitor.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/mutex.h"
#include "engines/vision.h"

namespace tesseract {
class TessBaseAPI;
}

namespace atelier::engines {

struct TesseractOptions {
  std::string tessdata_dir;  // empty: the library's default
  std::string language = "eng";
  std::size_t instances = 2;
};

class TesseractOcr final : public OcrEngine {
  struct Key {
    explicit Key() = default;
  };

 public:
  static Result<std::unique_ptr<TesseractOcr>> load(TesseractOptions opt);
  explicit TesseractOcr(Key) {}
  ~TesseractOcr() override;

  const std::string& model() const override { return model_; }
  Result<OcrResult> read(const cv::Mat& bgr, int psm, const WorkContext& work) override;

 private:
  struct ApiDeleter {
    void operator()(tesseract::TessBaseAPI* api) const;
  };
  using ApiPtr = std::unique_ptr<tesseract::TessBaseAPI, ApiDeleter>;
  Result<ApiPtr> make_api() const;
  Result<ApiPtr> borrow_api(const WorkContext& work) EXCLUDES(mu_);

  TesseractOptions opt_;
  std::string model_;
  Mutex mu_;
  CondVar cv_;
  std::vector<ApiPtr> idle_ GUARDED_BY(mu_);
  std::size_t created_ GUARDED_BY(mu_) = 0;
};

}  // namespace atelier::engines
