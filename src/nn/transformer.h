// A transformer encoder stack (self-attention + MLP blocks) over ragged
// batches: the tokens of all sequences are concatenated row-wise ([T, hidden])
// and every dense layer runs once over all of them, while attention runs per
// sequence. No padding is ever computed, so a batch's results equal the
// sequences' lone results exactly.
//
// Both layer orders are supported: post-LN (BERT: x = LN(x + f(x))) and
// pre-LN (CLIP: x = x + f(LN(x))).
#pragma once

#include <string>
#include <vector>

#include "nn/ops.h"

namespace atelier::nn {

struct EncoderConfig {
  int hidden = 0, heads = 0, intermediate = 0, layers = 0;
  Activation act = Activation::gelu_erf;
  bool pre_ln = false;
  float eps = 1e-12f;
};

struct EncoderLayer {
  Linear qkv;  // q, k and v fused: [3 * hidden, hidden]
  Linear out;
  Linear fc1, fc2;
  LayerNorm ln1, ln2;
};

// Stacks three [hidden, hidden] projections into one [3 * hidden, hidden].
Linear fuse_qkv(Linear q, Linear k, Linear v);

class Encoder {
 public:
  Encoder(EncoderConfig cfg, std::vector<EncoderLayer> layers)
      : cfg_(cfg), layers_(std::move(layers)) {}
  // x holds sum(lengths) rows of width hidden; updated in place.
  void forward(std::vector<float>& x, const std::vector<int>& lengths, bool causal) const;
  const EncoderConfig& config() const { return cfg_; }

 private:
  EncoderConfig cfg_;
  std::vector<EncoderLayer> layers_;
};

}  // namespace atelier::nn
