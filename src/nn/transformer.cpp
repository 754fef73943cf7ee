#include "nn/transformer.h"

#include <algorithm>

namespace atelier::nn {

Linear fuse_qkv(Linear q, Linear k, Linear v) {
  Linear f;
  f.in = q.in;
  f.out = q.out + k.out + v.out;
  f.w.reserve(q.w.size() + k.w.size() + v.w.size());
  for (auto* p : {&q, &k, &v}) f.w.insert(f.w.end(), p->w.begin(), p->w.end());
  if (!q.b.empty())
    for (auto* p : {&q, &k, &v}) f.b.insert(f.b.end(), p->b.begin(), p->b.end());
  return f;
}

void Encoder::forward(std::vector<float>& x, const std::vector<int>& lengths, bool causal) const {
  const std::size_t H = static_cast<std::size_t>(cfg_.hidden);
  const std::size_t T = x.size() / H;
  int max_len = 0;
  for (int l : lengths) max_len = std::max(max_len, l);
  std::vector<float> h(T * H), qkv(T * 3 * H), a(T * H), o(T * H),
      f(T * static_cast<std::size_t>(cfg_.intermediate)),
      scratch(static_cast<std::size_t>(max_len) * max_len);
  const int head_dim = cfg_.hidden / cfg_.heads;

  auto attend = [&](const float* in) {
    std::size_t row = 0;
    for (int len : lengths) {
      const float* base = in + row * 3 * H;
      attention(base, base + H, base + 2 * H, 3 * H, len, cfg_.heads, head_dim, causal,
                a.data() + row * H, H, scratch.data());
      row += static_cast<std::size_t>(len);
    }
  };

  const std::size_t I = T * static_cast<std::size_t>(cfg_.intermediate);
  for (const auto& L : layers_) {
    if (cfg_.pre_ln) {
      L.ln1.forward(x.data(), T, h.data());
      L.qkv.forward(h.data(), T, qkv.data());
      attend(qkv.data());
      L.out.forward_add(a.data(), T, x.data());
      L.ln2.forward(x.data(), T, h.data());
      L.fc1.forward(h.data(), T, f.data());
      activate(cfg_.act, f.data(), I);
      L.fc2.forward_add(f.data(), T, x.data());
    } else {
      L.qkv.forward(x.data(), T, qkv.data());
      attend(qkv.data());
      L.out.forward_add(a.data(), T, x.data());
      L.ln1.forward(x.data(), T);
      L.fc1.forward(x.data(), T, f.data());
      activate(cfg_.act, f.data(), I);
      L.fc2.forward_add(f.data(), T, x.data());
      L.ln2.forward(x.data(), T);
    }
  }
}

}  // namespace atelier::nn
