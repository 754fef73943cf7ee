// MobileNetV2 1.0 (ImageNet) on OpenCV DNN: one forward yields the 1280-d
// pooled features ("embedding", L2-normalised here) and the 1001-way class
// output ("output"; index 0 is background). Batched across requests.
//
// Pre-processing as the MANIFEST row says: shorter side to 224, centre crop,
// RGB, (x - 127.5) / 127.5.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/batcher.h"
#include "engines/vision.h"

namespace atelier::engines {

struct MobileNetOptions {
  std::string model_path;   // mobilenet_v2_1.0_224_tf2_fp32.onnx
  std::string labels_path;  // imagenet_labels_1001_coral.txt
  BatcherOptions batching;
  Batcher<std::vector<cv::Mat>, std::vector<ImageFeatures>>::ObserveFn observe;
};

class MobileNetEncoder final : public ImageEncoder {
  struct Key {
    explicit Key() = default;
  };

 public:
  static Result<std::unique_ptr<MobileNetEncoder>> load(const MobileNetOptions& opt);
  explicit MobileNetEncoder(Key);
  ~MobileNetEncoder() override;

  const std::string& model() const override { return model_; }
  int dimensions() const override { return 1280; }
  const std::vector<std::string>& labels() const override { return labels_; }
  Result<std::vector<ImageFeatures>> encode(const std::vector<cv::Mat>& bgr,
                                            const WorkContext& work) override;
  std::size_t queued() const { return batcher_->queued(); }

  // Shorter side to 224, centre crop (BGR kept; the blob swaps to RGB).
  static cv::Mat center_crop(const cv::Mat& bgr, int size = 224);

 private:
  struct Net;
  std::string model_ = "mobilenet-v2";
  std::vector<std::string> labels_;
  std::unique_ptr<Net> net_;
  // One queue slot per call (all of its images), so a request's crops never
  // crowd out other requests; a forward takes whole slots.
  using ImageBatcher = Batcher<std::vector<cv::Mat>, std::vector<ImageFeatures>>;
  std::unique_ptr<ImageBatcher> batcher_;
};

}  // namespace atelier::engines
