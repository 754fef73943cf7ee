// The few operations a transformer encoder needs, on fp32 row-major
// matrices, with matrix products through OpenBLAS (cblas_sgemm). Shapes are
// given as rows x columns; `ld` arguments are row strides in floats.
//
// Thread safety: the functions are pure; Linear and LayerNorm are immutable
// after loading. OpenBLAS parallelises each product on its own threads.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/status.h"
#include "nn/safetensors.h"

namespace atelier::nn {

// y[n, out] = x[n, in] . W^T + b, with W stored [out, in] as PyTorch does.
struct Linear {
  int in = 0, out = 0;
  std::vector<float> w;  // [out, in]
  std::vector<float> b;  // [out], or empty for no bias
  void forward(const float* x, std::size_t n, float* y) const;
  // y[n, out] += x . W^T + b: the residual add folded into the product.
  void forward_add(const float* x, std::size_t n, float* y) const;
};

// In place over n rows of width gamma.size().
struct LayerNorm {
  std::vector<float> gamma, beta;
  float eps = 1e-5f;
  void forward(float* x, std::size_t n) const;
  void forward(const float* x, std::size_t n, float* y) const;  // out of place
};

enum class Activation { gelu_erf, gelu_tanh, quick_gelu, relu };
Result<Activation> activation_from_name(const std::string& hf_name);
void activate(Activation a, float* x, std::size_t n);

// Multi-head self-attention for one sequence of `len` tokens. q, k and v are
// the head-interleaved projections ([len, heads * head_dim] with row stride
// ld_in); the result goes to out ([len, heads * head_dim], stride ld_out).
// `causal` masks future positions. scratch must hold len * len floats.
void attention(const float* q, const float* k, const float* v, std::size_t ld_in, int len,
               int heads, int head_dim, bool causal, float* out, std::size_t ld_out,
               float* scratch);

void l2_normalize(float* x, std::size_t n);

// Reads weights by name from a checkpoint, checking shapes; the first
// failure is kept and every later load is skipped, so model loaders read a
// list of tensors and check once.
class WeightReader {
 public:
  WeightReader(const SafeTensors& st, std::string prefix) : st_(st), prefix_(std::move(prefix)) {}
  std::vector<float> tensor(const std::string& name, const std::vector<std::int64_t>& shape);
  Linear linear(const std::string& name, int in, int out, bool bias = true);
  LayerNorm layer_norm(const std::string& name, int dim, float eps);
  bool has(const std::string& name) const { return st_.find(prefix_ + name) != nullptr; }
  const Status& status() const { return status_; }

 private:
  const SafeTensors& st_;
  std::string prefix_;
  Status status_;
};

}  // namespace atelier::nn
