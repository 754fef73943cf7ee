#include "nn/ops.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace atelier::nn {

void Linear::forward(const float* x, std::size_t n, float* y) const {
  float beta = 0.f;
  if (!b.empty()) {
    for (std::size_t r = 0; r < n; ++r)
      std::copy(b.begin(), b.end(), y + r * static_cast<std::size_t>(out));
    beta = 1.f;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), out, in, 1.f, x, in,
              w.data(), in, beta, y, out);
}

void LayerNorm::forward(float* x, std::size_t n) const {
  const std::size_t d = gamma.size();
  for (std::size_t r = 0; r < n; ++r) {
    float* row = x + r * d;
    // Two passes in double: the reference computes the biased variance of
    // the centred values, and large activations (BERT's ~1e2) lose digits
    // in fp32 one-pass formulas.
    double mean = 0;
    for (std::size_t i = 0; i < d; ++i) mean += row[i];
    mean /= static_cast<double>(d);
    double var = 0;
    for (std::size_t i = 0; i < d; ++i) {
      const double c = row[i] - mean;
      var += c * c;
    }
    var /= static_cast<double>(d);
    const float inv = static_cast<float>(1.0 / std::sqrt(var + eps));
    const float m = static_cast<float>(mean);
    for (std::size_t i = 0; i < d; ++i) row[i] = (row[i] - m) * inv * gamma[i] + beta[i];
  }
}

Result<Activation> activation_from_name(const std::string& n) {
  if (n == "gelu") return Activation::gelu_erf;
  if (n == "gelu_new" || n == "gelu_pytorch_tanh" || n == "gelu_fast") return Activation::gelu_tanh;
  if (n == "quick_gelu") return Activation::quick_gelu;
  if (n == "relu") return Activation::relu;
  return Status::invalid_argument("unsupported activation '" + n + "'");
}

void activate(Activation a, float* x, std::size_t n) {
  switch (a) {
    case Activation::gelu_erf:
      for (std::size_t i = 0; i < n; ++i)
        x[i] = 0.5f * x[i] * (1.f + std::erf(x[i] * static_cast<float>(M_SQRT1_2)));
      break;
    case Activation::gelu_tanh: {
      const float c = std::sqrt(2.f / static_cast<float>(M_PI));
      for (std::size_t i = 0; i < n; ++i)
        x[i] = 0.5f * x[i] * (1.f + std::tanh(c * (x[i] + 0.044715f * x[i] * x[i] * x[i])));
      break;
    }
    case Activation::quick_gelu:
      for (std::size_t i = 0; i < n; ++i) x[i] = x[i] / (1.f + std::exp(-1.702f * x[i]));
      break;
    case Activation::relu:
      for (std::size_t i = 0; i < n; ++i) x[i] = std::max(0.f, x[i]);
      break;
  }
}

void attention(const float* q, const float* k, const float* v, std::size_t ld_in, int len,
               int heads, int head_dim, bool causal, float* out, std::size_t ld_out,
               float* scratch) {
  const float scale = 1.f / std::sqrt(static_cast<float>(head_dim));
  for (int h = 0; h < heads; ++h) {
    const std::size_t off = static_cast<std::size_t>(h) * head_dim;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, len, len, head_dim, scale, q + off,
                static_cast<int>(ld_in), k + off, static_cast<int>(ld_in), 0.f, scratch, len);
    for (int i = 0; i < len; ++i) {
      float* row = scratch + static_cast<std::size_t>(i) * len;
      const int valid = causal ? i + 1 : len;
      float mx = -std::numeric_limits<float>::infinity();
      for (int j = 0; j < valid; ++j) mx = std::max(mx, row[j]);
      float sum = 0;
      for (int j = 0; j < valid; ++j) {
        row[j] = std::exp(row[j] - mx);
        sum += row[j];
      }
      const float inv = 1.f / sum;
      for (int j = 0; j < valid; ++j) row[j] *= inv;
      for (int j = valid; j < len; ++j) row[j] = 0.f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, len, head_dim, len, 1.f, scratch, len,
                v + off, static_cast<int>(ld_in), 0.f, out + off, static_cast<int>(ld_out));
  }
}

void l2_normalize(float* x, std::size_t n) {
  double s = 0;
  for (std::size_t i = 0; i < n; ++i) s += static_cast<double>(x[i]) * x[i];
  if (s <= 0) return;
  const float inv = static_cast<float>(1.0 / std::sqrt(s));
  for (std::size_t i = 0; i < n; ++i) x[i] *= inv;
}

std::vector<float> WeightReader::tensor(const std::string& name,
                                        const std::vector<std::int64_t>& shape) {
  if (!status_.is_ok()) return {};
  auto r = st_.load_f32(prefix_ + name, shape);
  if (!r.is_ok()) {
    status_ = r.status();
    return {};
  }
  return std::move(r).value();
}

Linear WeightReader::linear(const std::string& name, int in, int out, bool bias) {
  Linear l;
  l.in = in;
  l.out = out;
  l.w = tensor(name + ".weight", {out, in});
  if (bias) l.b = tensor(name + ".bias", {out});
  return l;
}

LayerNorm WeightReader::layer_norm(const std::string& name, int dim, float eps) {
  LayerNorm n;
  n.gamma = tensor(name + ".weight", {dim});
  n.beta = tensor(name + ".bias", {dim});
  n.eps = eps;
  return n;
}

}  // namespace atelier::nn
