#include "nn/ops.h"

#include <cblas.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
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

namespace {

// Two passes (mean, then the biased variance of centred values, as the
// reference computes it) in float lanes.
__attribute__((target_clones("avx2", "default"))) void layer_norm_row(
    const float* row, float* out, std::size_t d, const float* gamma, const float* beta, float eps) {
  float sum = 0;
#pragma omp simd reduction(+ : sum)
  for (std::size_t i = 0; i < d; ++i) sum += row[i];
  const float mean = sum / static_cast<float>(d);
  float var = 0;
#pragma omp simd reduction(+ : var)
  for (std::size_t i = 0; i < d; ++i) var += (row[i] - mean) * (row[i] - mean);
  const float inv = 1.f / std::sqrt(var / static_cast<float>(d) + eps);
#pragma omp simd
  for (std::size_t i = 0; i < d; ++i) out[i] = (row[i] - mean) * inv * gamma[i] + beta[i];
}

}  // namespace

void Linear::forward_add(const float* x, std::size_t n, float* y) const {
  if (!b.empty())
    for (std::size_t r = 0; r < n; ++r) {
      float* row = y + r * static_cast<std::size_t>(out);
      for (int i = 0; i < out; ++i) row[i] += b[static_cast<std::size_t>(i)];
    }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), out, in, 1.f, x, in,
              w.data(), in, 1.f, y, out);
}

void LayerNorm::forward(const float* x, std::size_t n, float* y) const {
  const std::size_t d = gamma.size();
  for (std::size_t r = 0; r < n; ++r)
    layer_norm_row(x + r * d, y + r * d, d, gamma.data(), beta.data(), eps);
}

void LayerNorm::forward(float* x, std::size_t n) const {
  const std::size_t d = gamma.size();
  for (std::size_t r = 0; r < n; ++r)
    layer_norm_row(x + r * d, x + r * d, d, gamma.data(), beta.data(), eps);
}

Result<Activation> activation_from_name(const std::string& n) {
  if (n == "gelu") return Activation::gelu_erf;
  if (n == "gelu_new" || n == "gelu_pytorch_tanh" || n == "gelu_fast") return Activation::gelu_tanh;
  if (n == "quick_gelu") return Activation::quick_gelu;
  if (n == "relu") return Activation::relu;
  return Status::invalid_argument("unsupported activation '" + n + "'");
}

namespace {

// exp for the activations, written so the compiler vectorises the loops
// that call it (libm's expf/erff are scalar calls and took a fifth of a
// MiniLM forward): Cephes' range reduction and degree-5 polynomial, within
// 2 ulp of expf on [-87, 88].
inline float vexp(float x) {
  x = x > 88.3762626647949f ? 88.3762626647949f : x;  // value selects, not std::min's references,
  x = x < -87.3365447504f ? -87.3365447504f : x;      // so the loops stay branch-free
  // n = round(x / ln 2) by the 1.5 * 2^23 trick: floor() would not vectorise.
  const float fx = (x * 1.44269504088896341f + 12582912.f) - 12582912.f;
  x -= fx * 0.693359375f;
  x -= fx * -2.12194440e-4f;
  const float z = x * x;
  float y = 1.9875691500e-4f;
  y = y * x + 1.3981999507e-3f;
  y = y * x + 8.3334519073e-3f;
  y = y * x + 4.1665795894e-2f;
  y = y * x + 1.6666665459e-1f;
  y = y * x + 5.0000001201e-1f;
  y = y * z + x + 1.f;
  const auto bits = static_cast<std::uint32_t>(static_cast<std::int32_t>(fx) + 127) << 23;
  return y * std::bit_cast<float>(bits);
}

// erf by Abramowitz & Stegun 7.1.26 (absolute error below 1.5e-7, under
// float rounding at GELU's scale), on vexp.
inline float verf(float x) {
  const float a = std::abs(x);
  const float t = 1.f / (1.f + 0.3275911f * a);
  float p = 1.061405429f;
  p = p * t - 1.453152027f;
  p = p * t + 1.421413741f;
  p = p * t - 0.284496736f;
  p = p * t + 0.254829592f;
  const float r = 1.f - p * t * vexp(-a * a);
  return std::copysign(r, x);
}

// One loop per activation, cloned for AVX2 when the CPU has it.
__attribute__((target_clones("avx2", "default"))) void gelu_erf_loop(float* x, std::size_t n) {
#pragma omp simd
  for (std::size_t i = 0; i < n; ++i)
    x[i] = 0.5f * x[i] * (1.f + verf(x[i] * 0.70710678118654752f));
}

__attribute__((target_clones("avx2", "default"))) void quick_gelu_loop(float* x, std::size_t n) {
#pragma omp simd
  for (std::size_t i = 0; i < n; ++i) x[i] = x[i] / (1.f + vexp(-1.702f * x[i]));
}

// Softmax of row[0, valid), zeros after (masked positions).
__attribute__((target_clones("avx2", "default"))) void softmax_row(float* row, int valid, int len) {
  float mx = row[0];
  for (int j = 1; j < valid; ++j) mx = row[j] > mx ? row[j] : mx;
  float sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int j = 0; j < valid; ++j) {
    row[j] = vexp(row[j] - mx);
    sum += row[j];
  }
  const float inv = 1.f / sum;
#pragma omp simd
  for (int j = 0; j < valid; ++j) row[j] *= inv;
  for (int j = valid; j < len; ++j) row[j] = 0.f;
}

}  // namespace

void activate(Activation a, float* x, std::size_t n) {
  switch (a) {
    case Activation::gelu_erf:
      gelu_erf_loop(x, n);
      break;
    case Activation::gelu_tanh: {
      const float c = std::sqrt(2.f / static_cast<float>(M_PI));
      for (std::size_t i = 0; i < n; ++i)
        x[i] = 0.5f * x[i] * (1.f + std::tanh(c * (x[i] + 0.044715f * x[i] * x[i] * x[i])));
      break;
    }
    case Activation::quick_gelu:
      quick_gelu_loop(x, n);
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
    for (int i = 0; i < len; ++i)
      softmax_row(scratch + static_cast<std::size_t>(i) * len, causal ? i + 1 : len, len);
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
