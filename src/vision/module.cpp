#include "vision/module.h"

#include "vision/routes.h"
#include "vision/stack.h"

namespace atelier::vision {
namespace {

// Detection, colours, OCR, captions and VQA on the local models (and a hosted
// describer when configured); its MobileNetV2 is also an image embedder.
class VisionModule final : public Module {
 public:
  explicit VisionModule(std::function<engines::OutfitJudge()> outfit_judge)
      : outfit_judge_(std::move(outfit_judge)) {}
  const char* name() const override { return "vision"; }
  Status start(Platform& p) override {
    stack_ = build_vision(p.config, p.metrics, p.health,
                          p.make_cache ? p.make_cache("vision", std::size_t(256) << 20) : nullptr);
    if (stack_->encoder) {
      p.image_models.encoders[stack_->encoder->model()] = stack_->encoder.get();
      p.embedders.add_image_model(stack_->encoder->model(), stack_->encoder->dimensions());
    } else {
      p.image_models.unavailable["mobilenet-v2"] = stack_->encoder_error;
    }
    api::add_vision_routes(p.router, p.deps, *stack_->service);
    return Status::ok();
  }
  // The wardrobe (started later) offers the outfit judge.
  Status ready(Platform&) override {
    engines::OutfitJudge judge = outfit_judge_ ? outfit_judge_() : nullptr;
    if (stack_->service && judge) stack_->service->set_outfit_judge(std::move(judge));
    return Status::ok();
  }

 private:
  const std::function<engines::OutfitJudge()> outfit_judge_;
  std::unique_ptr<VisionStack> stack_;
};

}  // namespace

ModulePtr make_module(std::function<engines::OutfitJudge()> outfit_judge) {
  return std::make_unique<VisionModule>(std::move(outfit_judge));
}

}  // namespace atelier::vision
