// Caption and VQA through any OpenAI-compatible server's chat completions
// API (`POST {base}/chat/completions` through OpenAiClient, a user message
// with a text part and an `image_url` part carrying the image as a base64
// data URL). Base URL, model, key and timeout come from configuration. The
// local engines' findings are passed along as hints; the answer is the
// remote model's, labelled so.
#pragma once

#include <chrono>
#include <string>

#include "engines/hosted/openai_client.h"
#include "engines/vision.h"

namespace atelier::engines {

struct OpenAiVisionOptions {
  std::string base_url;  // e.g. https://api.openai.com/v1
  std::string model;
  std::string api_key;  // sent as a bearer token when not empty
  std::chrono::milliseconds timeout{30000};
  int max_tokens = 300;
};

class OpenAiVisionDescriber final : public SceneDescriber {
 public:
  explicit OpenAiVisionDescriber(OpenAiVisionOptions opt);
  const std::string& model() const override { return name_; }
  Result<Description> caption(const SceneFacts& facts, const std::string& jpeg,
                              const WorkContext& work) override;
  Result<Description> answer(const std::string& question, const SceneFacts& facts,
                             const std::string& jpeg, const WorkContext& work) override;

 private:
  Result<Description> ask(const std::string& prompt, const SceneFacts& facts,
                          const std::string& jpeg, const WorkContext& work);
  OpenAiVisionOptions opt_;
  OpenAiClient client_;
  std::string name_;
};

}  // namespace atelier::engines
