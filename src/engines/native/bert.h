// BERT-family encoders (BERT, MiniLM, BGE, E5: Hugging Face `BertModel`
// checkpoints) run natively: config.json for the shapes, model.safetensors for
// the weights, loaded unchanged (keys with or without the "bert." prefix).
//
// Thread safety: immutable after load(); forward() from any thread.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/status.h"
#include "nn/transformer.h"

namespace atelier::engines::native {

struct BertConfig {
  int vocab_size = 30522, hidden = 768, layers = 12, heads = 12, intermediate = 3072;
  int max_positions = 512, type_vocab_size = 2;
  float eps = 1e-12f;
  nn::Activation act = nn::Activation::gelu_erf;
  static Result<BertConfig> from_json_file(const std::string& path);
};

class BertModel {
 public:
  static Result<std::unique_ptr<BertModel>> load(const std::string& config_json,
                                                 const std::string& safetensors);

  // The last hidden states of each sequence (token type 0, positions from 0),
  // concatenated: [sum of lengths, hidden]. Ids must lie in the vocabulary and
  // sequences must fit max_positions.
  Result<std::vector<float>> forward(const std::vector<std::vector<std::int32_t>>& ids) const;
  const BertConfig& config() const { return cfg_; }

  struct Key {};
  BertModel(Key, BertConfig cfg, nn::Encoder enc) : cfg_(cfg), encoder_(std::move(enc)) {}

 private:
  BertConfig cfg_;
  nn::Encoder encoder_;
  std::vector<float> word_, position_, type_;
  nn::LayerNorm emb_ln_;
};

enum class Pooling { mean, cls };

// One vector per sequence from forward()'s rows: the mean of its tokens
// (sentence-transformers' mean pooling; every token counts since nothing is
// padded) or its first token. L2-normalised when `normalize`.
std::vector<std::vector<float>> pool(const std::vector<float>& hidden, int width,
                                     const std::vector<int>& lengths, Pooling p, bool normalize);

}  // namespace atelier::engines::native
