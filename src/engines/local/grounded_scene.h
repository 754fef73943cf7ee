// The local caption/VQA engine: no generative model, only what the other
// engines found. A caption is written from the detected objects, their
// colours and types, and any text read. Questions it can ground (how many X,
// what colour is the X, is there an X, what does the text say) are answered
// with the evidence; any other question gets "unknown" with low confidence,
// never an invented answer.
#pragma once

#include "engines/vision.h"

namespace atelier::engines {

class GroundedSceneDescriber final : public SceneDescriber {
 public:
  const std::string& model() const override { return model_; }
  Result<Description> caption(const SceneFacts& facts, const std::string& jpeg,
                              const WorkContext& work) override;
  Result<Description> answer(const std::string& question, const SceneFacts& facts,
                             const std::string& jpeg, const WorkContext& work) override;

 private:
  std::string model_ = "grounded-scene-1";
};

}  // namespace atelier::engines
