#include "engines/local/mobilenet.h"

#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

#include <cmath>

#include "engines/local/yolox.h"  // read_labels

namespace atelier::engines {

struct MobileNetEncoder::Net {
  cv::dnn::Net net;
};

MobileNetEncoder::MobileNetEncoder(Key) {}
MobileNetEncoder::~MobileNetEncoder() {
  batcher_.reset();
}

cv::Mat MobileNetEncoder::center_crop(const cv::Mat& bgr, int size) {
  const double r = double(size) / std::min(bgr.rows, bgr.cols);
  const int w = std::max(size, int(std::lround(bgr.cols * r))),
            h = std::max(size, int(std::lround(bgr.rows * r)));
  cv::Mat resized;
  cv::resize(bgr, resized, cv::Size(w, h), 0, 0, r < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
  return resized(cv::Rect((w - size) / 2, (h - size) / 2, size, size)).clone();
}

namespace {

void l2_normalise(std::vector<float>& v) {
  double s = 0;
  for (float x : v) s += double(x) * x;
  if (s <= 0) return;
  const float inv = float(1.0 / std::sqrt(s));
  for (float& x : v) x *= inv;
}

// The converted graph ends in logits or in a softmax depending on the
// exporter; normalise to probabilities either way.
void to_probabilities(std::vector<float>& v) {
  double sum = 0;
  bool probs = true;
  for (float x : v) {
    if (x < 0 || x > 1) probs = false;
    sum += x;
  }
  if (probs && std::abs(sum - 1.0) < 1e-3) return;
  const float mx = *std::max_element(v.begin(), v.end());
  sum = 0;
  for (float& x : v) sum += (x = std::exp(x - mx));
  for (float& x : v) x = float(x / sum);
}

}  // namespace

Result<std::unique_ptr<MobileNetEncoder>> MobileNetEncoder::load(const MobileNetOptions& opt) {
  auto e = std::make_unique<MobileNetEncoder>(Key{});
  ATELIER_ASSIGN_OR_RETURN(e->labels_, read_labels(opt.labels_path));
  e->net_ = std::make_unique<Net>();
  try {
    e->net_->net = cv::dnn::readNetFromONNX(opt.model_path);
    e->net_->net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    e->net_->net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
  } catch (const cv::Exception& ex) {
    return Status::unavailable("cannot load " + opt.model_path + ": " + ex.what());
  }
  Net* net = e->net_.get();
  // One forward over a list of 224x224 crops.
  auto forward = [net](const std::vector<cv::Mat>& crops, std::vector<ImageFeatures>* out) {
    cv::Mat blob = cv::dnn::blobFromImages(crops, 1.0 / 127.5, cv::Size(224, 224),
                                           cv::Scalar(127.5, 127.5, 127.5),
                                           /*swapRB=*/true, false);
    net->net.setInput(blob);
    std::vector<cv::Mat> o;
    net->net.forward(o, std::vector<std::string>{"embedding", "output"});
    for (std::size_t i = 0; i < crops.size(); ++i) {
      ImageFeatures f;
      const float* emb = o[0].ptr<float>(int(i));
      f.embedding.assign(emb, emb + o[0].size[1]);
      l2_normalise(f.embedding);
      const float* cls = o[1].ptr<float>(int(i));
      f.probs.assign(cls, cls + o[1].size[1]);
      to_probabilities(f.probs);
      out->push_back(std::move(f));
    }
  };
  const std::size_t max_images = std::max<std::size_t>(1, opt.batching.max_batch) * 2;
  auto run = [forward, max_images](std::vector<std::vector<cv::Mat>>& slots) {
    std::vector<cv::Mat> all;
    for (auto& s : slots) all.insert(all.end(), s.begin(), s.end());
    std::vector<ImageFeatures> feats;
    for (std::size_t at = 0; at < all.size();
         at += max_images) {  // bounded forwards for large calls
      std::vector<cv::Mat> chunk(all.begin() + long(at),
                                 all.begin() + long(std::min(all.size(), at + max_images)));
      forward(chunk, &feats);
    }
    std::vector<Result<std::vector<ImageFeatures>>> outs;
    std::size_t next = 0;
    for (auto& s : slots) {
      std::vector<ImageFeatures> mine(
          std::make_move_iterator(feats.begin() + long(next)),
          std::make_move_iterator(feats.begin() + long(next + s.size())));
      next += s.size();
      outs.push_back(std::move(mine));
    }
    return outs;
  };
  try {
    std::vector<ImageFeatures> w;
    forward({cv::Mat(224, 224, CV_8UC3, cv::Scalar(127, 127, 127))}, &w);
    if (w.size() != 1 || w[0].embedding.size() != 1280 || w[0].probs.size() != e->labels_.size()) {
      return Status::unavailable(
          opt.model_path + " does not have MobileNetV2's outputs embedding[1280] and output[" +
          std::to_string(e->labels_.size()) + "]");
    }
  } catch (const cv::Exception& ex) {
    return Status::unavailable("cannot run " + opt.model_path + ": " + ex.what());
  }
  BatcherOptions bo = opt.batching;
  bo.name = "mobilenet-v2";
  e->batcher_ = std::make_unique<ImageBatcher>(bo, run, opt.observe);
  return e;
}

Result<std::vector<ImageFeatures>> MobileNetEncoder::encode(const std::vector<cv::Mat>& bgr,
                                                            const WorkContext& work) {
  std::vector<cv::Mat> crops;
  crops.reserve(bgr.size());
  for (const auto& m : bgr) crops.push_back(center_crop(m));
  return batcher_->run(std::move(crops), work);
}

}  // namespace atelier::engines
