// CLIP (Hugging Face `CLIPModel` checkpoints: config.json + model.safetensors,
// loaded unchanged) run natively: the ViT image tower (patch embedding, class
// token, pre-LN encoder, post-LN on the class token, visual projection) and
// the text tower (token + position embeddings, causal pre-LN encoder, final
// LN, the end-of-text token's state, text projection).
//
// Thread safety: immutable after load(); encode_* from any thread.
#pragma once

#include <opencv2/core.hpp>

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "nn/transformer.h"

namespace atelier::engines::native {

struct ClipTowerConfig {
  int hidden = 0, heads = 0, intermediate = 0, layers = 0;
  float eps = 1e-5f;
  nn::Activation act = nn::Activation::quick_gelu;
};

struct ClipConfig {
  ClipTowerConfig text{512, 8, 2048, 12}, vision{768, 12, 3072, 12};
  int vocab_size = 49408, max_positions = 77;
  int image_size = 224, patch_size = 32, channels = 3;
  int projection_dim = 512;
  static Result<ClipConfig> from_json_file(const std::string& path);
};

class ClipModel {
 public:
  static Result<std::unique_ptr<ClipModel>> load(const std::string& config_json,
                                                 const std::string& safetensors);

  // Projected text embeddings, [n, projection_dim], not normalised. Each
  // sequence is pooled at its first `eot_id` (its last token if none).
  Result<std::vector<float>> encode_text(const std::vector<std::vector<std::int32_t>>& ids,
                                         std::int32_t eot_id) const;
  // Projected image embeddings, [n, projection_dim], not normalised, from
  // preprocessed pixels [n, 3, image_size, image_size].
  std::vector<float> encode_image(const float* pixels, std::size_t n) const;

  const ClipConfig& config() const { return cfg_; }

  struct Key {};
  ClipModel(Key, ClipConfig cfg, nn::Encoder text, nn::Encoder vision)
      : cfg_(cfg), text_(std::move(text)), vision_(std::move(vision)) {}

 private:
  ClipConfig cfg_;
  nn::Encoder text_, vision_;
  std::vector<float> token_emb_, text_pos_, class_emb_, patch_w_, vision_pos_;
  nn::LayerNorm text_final_ln_, pre_ln_, post_ln_;
  nn::Linear text_proj_, visual_proj_;
};

// CLIP's preprocessing: RGB, resize so the shorter side is `size` (bicubic,
// with PIL's antialiasing when shrinking), centre crop size x size, scale to
// 0..1 and normalise with CLIP's mean and std. Returns [3, size, size].
std::vector<float> clip_preprocess(const cv::Mat& bgr, int size);

// PIL's Image.resize(..., BICUBIC) on 8-bit RGB: separable, support widened
// by the scale when shrinking, rounded to 8 bits after each pass. CLIP's
// processors resize this way; matching it keeps our pixels equal to theirs.
cv::Mat pil_resize_bicubic(const cv::Mat& rgb8, int width, int height);

}  // namespace atelier::engines::native
