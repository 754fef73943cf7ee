// YOLOX-nano (COCO-80) on OpenCV DNN, batched across requests.
//
// Pre-processing as the model's MANIFEST row says: letterbox to 416x416 at
// the top-left, pad value 114, BGR 0..255, no mean/std. The network's raw
// output [N*3549, 85] is decoded on the strides 8/16/32 grids (xy = (o + g)
// * stride, wh = exp(o) * stride, score = objectness * class probability),
// then class-aware NMS; boxes are mapped back to the input image.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/batcher.h"
#include "engines/vision.h"

namespace atelier::engines {

struct YoloxOptions {
  std::string model_path;   // yolox_nano.onnx
  std::string labels_path;  // coco_classes.txt
  int input_size = 416;
  float nms_iou = 0.45f;
  int replicas = 0;  // networks, one batcher lane each; 0: OpenCV's thread count
  BatcherOptions batching;
  Batcher<cv::Mat, cv::Mat>::ObserveFn observe;
};

class YoloxDetector final : public Detector {
 public:
  static Result<std::unique_ptr<YoloxDetector>> load(const YoloxOptions& opt);
  ~YoloxDetector() override;

  const std::string& model() const override { return model_; }
  Result<std::vector<Detection>> detect(const cv::Mat& bgr, float min_score,
                                        const WorkContext& work) override;
  const std::vector<std::string>& labels() const { return labels_; }
  std::size_t queued() const { return batcher_->queued(); }

  // The letterboxed 416x416 input and the ratio applied (exposed for the benchmark).
  static cv::Mat letterbox(const cv::Mat& bgr, int size, float* ratio);

 private:
  struct Key {
    explicit Key() = default;
  };

 public:
  explicit YoloxDetector(Key);

 private:
  struct Net;
  std::string model_ = "yolox-nano";
  YoloxOptions opt_;
  std::vector<std::string> labels_;
  std::unique_ptr<Net> net_;
  std::unique_ptr<Batcher<cv::Mat, cv::Mat>> batcher_;  // letterboxed image -> raw [3549, 85]
};

// Reads a labels file: one name per line.
Result<std::vector<std::string>> read_labels(const std::string& path);

}  // namespace atelier::engines
