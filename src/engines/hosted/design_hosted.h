// Hosted design engines, each speaking its service's documented wire protocol
// over net/ (bounded by the job's deadline, cancellable), and a circuit
// breaker that wraps any engine.
//
// Replicate (https://replicate.com/docs/reference/http): POST
// {base}/predictions with {"version", "input"} and a bearer token; the answer
// carries an id, a status and urls.get / urls.cancel; we poll urls.get until
// succeeded, failed or canceled (cancelling the prediction when our deadline
// passes or the job is cancelled); the output (a URL, or a list of them) is
// fetched only from the configured output hosts.
// Input: image and control_image as data URIs, prompt, negative_prompt,
// seed, and prompt_strength (1 - strength keeps the photo), for an SDXL +
// ControlNet canny model version.
//
// Hugging Face Inference Endpoints: POST {endpoint} with a bearer token and
// {"inputs": base64 image, "parameters": {prompt, negative_prompt,
// control_image (base64 PNG), seed, strength}}; the answer is the image
// bytes (Content-Type image/*). A 503 while the endpoint scales up is
// reported as unavailable.
//
// Thread safety: generate() may be called concurrently.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/circuit_breaker.h"
#include "engines/design.h"

namespace atelier::engines {

struct ReplicateOptions {
  std::string base_url = "https://api.replicate.com/v1";
  std::string token;
  std::string version;  // the model version id
  std::vector<std::string> output_hosts = {"replicate.delivery", "*.replicate.delivery"};
  bool allow_private = false;  // output hosts on loopback: tests only
  std::chrono::milliseconds poll_interval{1000};
};

class ReplicateEngine final : public DesignEngine {
 public:
  explicit ReplicateEngine(ReplicateOptions opt);
  const std::string& name() const override { return name_; }
  Result<DesignResult> generate(const DesignRequest& req, const WorkContext& work) override;

 private:
  ReplicateOptions opt_;
  std::string name_ = "replicate";
};

struct HfInferenceOptions {
  std::string endpoint;  // https://xyz.endpoints.huggingface.cloud
  std::string token;
};

class HfInferenceEngine final : public DesignEngine {
 public:
  explicit HfInferenceEngine(HfInferenceOptions opt) : opt_(std::move(opt)) {}
  const std::string& name() const override { return name_; }
  Result<DesignResult> generate(const DesignRequest& req, const WorkContext& work) override;

 private:
  HfInferenceOptions opt_;
  std::string name_ = "hf_inference";
};

// Any engine behind a circuit breaker.
class BreakerEngine final : public DesignEngine {
 public:
  BreakerEngine(std::unique_ptr<DesignEngine> inner, int threshold,
                std::chrono::milliseconds cooldown)
      : inner_(std::move(inner)), breaker_(threshold, cooldown) {}
  const std::string& name() const override { return inner_->name(); }
  Result<DesignResult> generate(const DesignRequest& req, const WorkContext& work) override {
    ATELIER_RETURN_IF_ERROR(breaker_.admit());
    auto r = inner_->generate(req, work);
    // A job the caller cancelled says nothing about the service.
    if (!(r.is_ok() == false && r.status().code() == Code::cancelled))
      breaker_.record(r.is_ok() ? Status::ok() : r.status());
    return r;
  }
  const CircuitBreaker& breaker() const { return breaker_; }

 private:
  std::unique_ptr<DesignEngine> inner_;
  CircuitBreaker breaker_;
};

}  // namespace atelier::engines
