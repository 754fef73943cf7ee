#include "engines/local/yolox.h"

#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>

namespace atelier::engines {

// One network per core. The ONNX export fixes batch 1 inside its reshapes: a
// multi-image blob runs but mixes the images' outputs (verified: no output row
// of a 2-image forward matches either image's own forward). So a batch is run
// as batch-1 forwards spread across the replicas, one core each (OpenCV runs
// nested parallel loops serially): data parallelism, which on CPUs beats
// intra-op parallelism for a model this small. A lone input runs on replica 0
// with OpenCV's intra-op threads (lowest latency).
struct YoloxDetector::Net {
  std::vector<cv::dnn::Net> replicas;
};

Result<std::vector<std::string>> read_labels(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::unavailable("cannot read labels file " + path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    out.push_back(line);
  }
  while (!out.empty() && out.back().empty()) out.pop_back();
  return out;
}

YoloxDetector::YoloxDetector(Key) {}
YoloxDetector::~YoloxDetector() { batcher_.reset(); }  // join the model thread before the net goes

cv::Mat YoloxDetector::letterbox(const cv::Mat& bgr, int size, float* ratio) {
  const float r = std::min(float(size) / bgr.rows, float(size) / bgr.cols);
  cv::Mat out(size, size, CV_8UC3, cv::Scalar(114, 114, 114));
  cv::Mat resized;
  const int w = std::max(1, int(std::lround(bgr.cols * r))), h = std::max(1, int(std::lround(bgr.rows * r)));
  cv::resize(bgr, resized, cv::Size(std::min(w, size), std::min(h, size)), 0, 0, cv::INTER_LINEAR);
  resized.copyTo(out(cv::Rect(0, 0, resized.cols, resized.rows)));
  *ratio = r;
  return out;
}

Result<std::unique_ptr<YoloxDetector>> YoloxDetector::load(YoloxOptions opt) {
  auto d = std::make_unique<YoloxDetector>(Key{});
  ATELIER_ASSIGN_OR_RETURN(d->labels_, read_labels(opt.labels_path));
  d->net_ = std::make_unique<Net>();
  // More replicas than a batch can fill would only hold memory (each keeps its own activations).
  const int replicas = std::clamp(opt.replicas > 0 ? opt.replicas : cv::getNumThreads(), 1,
                                  static_cast<int>(std::max<std::size_t>(1, opt.batching.max_batch)));
  try {
    for (int i = 0; i < replicas; ++i) {
      cv::dnn::Net n = cv::dnn::readNetFromONNX(opt.model_path);
      n.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
      n.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
      d->net_->replicas.push_back(std::move(n));
    }
  } catch (const cv::Exception& e) {
    return Status::unavailable("cannot load " + opt.model_path + ": " + e.what());
  }
  d->opt_ = opt;
  Net* net = d->net_.get();
  const int size = opt.input_size;
  // Batch-1 forwards of `count` inputs from `first` on replica `r`; rows land in outs[first..].
  auto forward = [net, size](std::vector<cv::Mat>& inputs, std::size_t first, std::size_t count, std::size_t r,
                             std::vector<cv::Mat>& outs) {
    cv::dnn::Net& n = net->replicas[r];
    for (std::size_t i = first; i < first + count; ++i) {
      n.setInput(cv::dnn::blobFromImage(inputs[i], 1.0, cv::Size(size, size), cv::Scalar(), false, false));
      cv::Mat out = n.forward();  // [1, anchors, 85]
      outs[i] = cv::Mat(out.size[1], out.size[2], CV_32F, out.ptr<float>()).clone();
    }
  };
  auto run = [net, forward](std::vector<cv::Mat>& inputs) {
    std::vector<cv::Mat> rows(inputs.size());
    const std::size_t r = std::min(net->replicas.size(), inputs.size());
    if (r <= 1) {
      forward(inputs, 0, inputs.size(), 0, rows);
    } else {
      const std::size_t per = (inputs.size() + r - 1) / r;
      cv::parallel_for_(
          cv::Range(0, int(r)),
          [&](const cv::Range& range) {
            for (int k = range.start; k < range.end; ++k) {
              const std::size_t first = std::size_t(k) * per;
              if (first < inputs.size()) forward(inputs, first, std::min(per, inputs.size() - first), std::size_t(k), rows);
            }
          },
          double(r));
    }
    std::vector<Result<cv::Mat>> outs;
    for (auto& m : rows) outs.push_back(std::move(m));
    return outs;
  };
  // A first forward so the first request does not pay the lazy initialisation.
  try {
    std::vector<cv::Mat> warm{cv::Mat(size, size, CV_8UC3, cv::Scalar(114, 114, 114))};
    std::vector<cv::Mat> sink(1);
    for (std::size_t r = 1; r < net->replicas.size(); ++r) forward(warm, 0, 1, r, sink);  // lazy init of each
    auto w = run(warm);
    const int expected = (size / 8) * (size / 8) + (size / 16) * (size / 16) + (size / 32) * (size / 32);
    if (w.empty() || !w[0].is_ok() || w[0].value().rows != expected || w[0].value().cols != 5 + int(d->labels_.size())) {
      return Status::unavailable(opt.model_path + " has an unexpected output shape for YOLOX with " +
                                 std::to_string(d->labels_.size()) + " classes");
    }
  } catch (const cv::Exception& e) {
    return Status::unavailable("cannot run " + opt.model_path + ": " + e.what());
  }
  BatcherOptions bo = opt.batching;
  bo.name = "yolox-nano";
  d->batcher_ = std::make_unique<Batcher<cv::Mat, cv::Mat>>(bo, run, opt.observe);
  return d;
}

Result<std::vector<Detection>> YoloxDetector::detect(const cv::Mat& bgr, float min_score, const WorkContext& work) {
  float ratio = 1;
  cv::Mat input = letterbox(bgr, opt_.input_size, &ratio);
  ATELIER_ASSIGN_OR_RETURN(cv::Mat raw, batcher_->run(std::move(input), work));

  const int ncls = raw.cols - 5;
  std::vector<cv::Rect2d> boxes;
  std::vector<cv::Rect2d> shifted;  // per-class offsets make one NMS call class-aware
  std::vector<float> scores;
  std::vector<int> classes;
  int row = 0;
  for (int stride : {8, 16, 32}) {
    const int g = opt_.input_size / stride;
    for (int gy = 0; gy < g; ++gy) {
      for (int gx = 0; gx < g; ++gx, ++row) {
        const float* p = raw.ptr<float>(row);
        const float obj = p[4];
        if (obj < min_score) continue;
        int best = 0;
        for (int c = 1; c < ncls; ++c) {
          if (p[5 + c] > p[5 + best]) best = c;
        }
        const float score = obj * p[5 + best];
        if (score < min_score) continue;
        const float cx = (p[0] + gx) * stride, cy = (p[1] + gy) * stride;
        const float w = std::exp(p[2]) * stride, h = std::exp(p[3]) * stride;
        cv::Rect2d b((cx - w / 2) / ratio, (cy - h / 2) / ratio, w / ratio, h / ratio);
        boxes.push_back(b);
        const double off = best * 8192.0;
        shifted.emplace_back(b.x + off, b.y + off, b.width, b.height);
        scores.push_back(score);
        classes.push_back(best);
      }
    }
  }
  std::vector<int> keep;
  cv::dnn::NMSBoxes(shifted, scores, min_score, opt_.nms_iou, keep);
  std::vector<Detection> out;
  out.reserve(keep.size());
  for (int i : keep) {
    cv::Rect2d b = boxes[i] & cv::Rect2d(0, 0, bgr.cols, bgr.rows);
    if (b.width <= 0 || b.height <= 0) continue;
    Detection d;
    d.box = {float(b.x), float(b.y), float(b.width), float(b.height)};
    d.class_id = classes[i];
    d.label = classes[i] < int(labels_.size()) ? labels_[classes[i]] : std::to_string(classes[i]);
    d.score = scores[i];
    out.push_back(std::move(d));
  }
  std::sort(out.begin(), out.end(), [](const Detection& a, const Detection& b) { return a.score > b.score; });
  return out;
}

}  // namespace atelier::engines
