#include "engines/native/clip.h"

#include <opencv2/imgproc.hpp>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engines/native/config_json.h"
#include "nn/safetensors.h"

namespace atelier::engines::native {

namespace {

Status read_tower(const nlohmann::json& j, ClipTowerConfig& t) {
  read_field(j, "hidden_size", t.hidden);
  read_field(j, "num_attention_heads", t.heads);
  read_field(j, "intermediate_size", t.intermediate);
  read_field(j, "num_hidden_layers", t.layers);
  double eps = t.eps;
  read_field(j, "layer_norm_eps", eps);
  t.eps = static_cast<float>(eps);
  std::string act = "quick_gelu";
  read_field(j, "hidden_act", act);
  auto a = nn::activation_from_name(act);
  if (!a.is_ok()) return a.status();
  t.act = *a;
  if (t.hidden <= 0 || t.heads <= 0 || t.hidden % t.heads || t.layers <= 0 || t.intermediate <= 0)
    return Status::invalid_argument(
        "inconsistent tower sizes (hidden must be a multiple of the head count)");
  return Status::ok();
}

nn::Encoder load_tower(nn::WeightReader& w, const std::string& prefix, const ClipTowerConfig& t) {
  const int H = t.hidden;
  std::vector<nn::EncoderLayer> layers;
  for (int i = 0; i < t.layers; ++i) {
    const std::string p = prefix + "encoder.layers." + std::to_string(i) + ".";
    nn::EncoderLayer L;
    L.qkv =
        nn::fuse_qkv(w.linear(p + "self_attn.q_proj", H, H), w.linear(p + "self_attn.k_proj", H, H),
                     w.linear(p + "self_attn.v_proj", H, H));
    L.out = w.linear(p + "self_attn.out_proj", H, H);
    L.ln1 = w.layer_norm(p + "layer_norm1", H, t.eps);
    L.fc1 = w.linear(p + "mlp.fc1", H, t.intermediate);
    L.fc2 = w.linear(p + "mlp.fc2", t.intermediate, H);
    L.ln2 = w.layer_norm(p + "layer_norm2", H, t.eps);
    layers.push_back(std::move(L));
  }
  return nn::Encoder({H, t.heads, t.intermediate, t.layers, t.act, true, t.eps}, std::move(layers));
}

}  // namespace

Result<ClipConfig> ClipConfig::from_json_file(const std::string& path) {
  ATELIER_ASSIGN_OR_RETURN(nlohmann::json j, read_json_object(path));
  ClipConfig c;
  try {
    read_field(j, "projection_dim", c.projection_dim);
    if (j.contains("text_config") && j["text_config"].is_object()) {
      const auto& t = j["text_config"];
      if (Status st = read_tower(t, c.text); !st.is_ok())
        return Status::invalid_argument(path + ": text_config: " + st.message());
      read_field(t, "vocab_size", c.vocab_size);
      read_field(t, "max_position_embeddings", c.max_positions);
    }
    if (j.contains("vision_config") && j["vision_config"].is_object()) {
      const auto& v = j["vision_config"];
      if (Status st = read_tower(v, c.vision); !st.is_ok())
        return Status::invalid_argument(path + ": vision_config: " + st.message());
      read_field(v, "image_size", c.image_size);
      read_field(v, "patch_size", c.patch_size);
      read_field(v, "num_channels", c.channels);
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::invalid_argument(path + ": " + e.what());
  }
  if (c.patch_size <= 0 || c.image_size % c.patch_size || c.channels != 3 ||
      c.projection_dim <= 0 || c.vocab_size <= 0 || c.max_positions <= 0)
    return Status::invalid_argument(
        path + ": inconsistent sizes (image_size must be a multiple of patch_size; 3 channels)");
  return c;
}

Result<std::unique_ptr<ClipModel>> ClipModel::load(const std::string& config_json,
                                                   const std::string& safetensors) {
  ATELIER_ASSIGN_OR_RETURN(ClipConfig c, ClipConfig::from_json_file(config_json));
  ATELIER_ASSIGN_OR_RETURN(auto st, nn::SafeTensors::open(safetensors));
  nn::WeightReader w(*st, "");
  nn::Encoder text = load_tower(w, "text_model.", c.text);
  nn::Encoder vision = load_tower(w, "vision_model.", c.vision);
  auto m = std::make_unique<ClipModel>(Key{}, c, std::move(text), std::move(vision));
  const int T = c.text.hidden, V = c.vision.hidden, P = c.patch_size;
  const int patches = (c.image_size / P) * (c.image_size / P);
  m->token_emb_ = w.tensor("text_model.embeddings.token_embedding.weight", {c.vocab_size, T});
  m->text_pos_ = w.tensor("text_model.embeddings.position_embedding.weight", {c.max_positions, T});
  m->text_final_ln_ = w.layer_norm("text_model.final_layer_norm", T, c.text.eps);
  m->class_emb_ = w.tensor("vision_model.embeddings.class_embedding", {V});
  m->patch_w_ = w.tensor("vision_model.embeddings.patch_embedding.weight", {V, c.channels, P, P});
  m->vision_pos_ = w.tensor("vision_model.embeddings.position_embedding.weight", {patches + 1, V});
  // "pre_layrnorm" is the checkpoint's own spelling.
  m->pre_ln_ = w.layer_norm("vision_model.pre_layrnorm", V, c.vision.eps);
  m->post_ln_ = w.layer_norm("vision_model.post_layernorm", V, c.vision.eps);
  m->text_proj_ = w.linear("text_projection", T, c.projection_dim, false);
  m->visual_proj_ = w.linear("visual_projection", V, c.projection_dim, false);
  if (!w.status().is_ok()) return w.status();
  return m;
}

Result<std::vector<float>> ClipModel::encode_text(const std::vector<std::vector<std::int32_t>>& ids,
                                                  std::int32_t eot_id) const {
  const std::size_t H = static_cast<std::size_t>(cfg_.text.hidden);
  // The causal mask means nothing after the end token reaches it, so each
  // sequence is cut there and padding is never computed.
  std::vector<int> lengths;
  std::size_t T = 0;
  for (auto& s : ids) {
    if (s.empty() || s.size() > static_cast<std::size_t>(cfg_.max_positions))
      return Status::invalid_argument("a sequence of " + std::to_string(s.size()) +
                                      " tokens does not fit 1.." +
                                      std::to_string(cfg_.max_positions));
    std::size_t len = s.size();
    for (std::size_t p = 0; p < s.size(); ++p) {
      if (s[p] < 0 || s[p] >= cfg_.vocab_size)
        return Status::invalid_argument("token id " + std::to_string(s[p]) +
                                        " is outside the vocabulary");
      if (s[p] == eot_id) {
        len = p + 1;
        break;
      }
    }
    lengths.push_back(static_cast<int>(len));
    T += len;
  }
  std::vector<float> x(T * H);
  std::size_t row = 0;
  for (std::size_t i = 0; i < ids.size(); ++i)
    for (int p = 0; p < lengths[i]; ++p, ++row) {
      const float* te =
          token_emb_.data() + static_cast<std::size_t>(ids[i][static_cast<std::size_t>(p)]) * H;
      const float* pe = text_pos_.data() + static_cast<std::size_t>(p) * H;
      for (std::size_t k = 0; k < H; ++k) x[row * H + k] = te[k] + pe[k];
    }
  text_.forward(x, lengths, true);
  std::vector<float> pooled(ids.size() * H);
  row = 0;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    row += static_cast<std::size_t>(lengths[i]);
    std::copy_n(x.begin() + static_cast<std::ptrdiff_t>((row - 1) * H), H,
                pooled.begin() + static_cast<std::ptrdiff_t>(i * H));
  }
  // LayerNorm is per token, so normalising only the pooled rows is the same.
  text_final_ln_.forward(pooled.data(), ids.size());
  std::vector<float> out(ids.size() * static_cast<std::size_t>(cfg_.projection_dim));
  text_proj_.forward(pooled.data(), ids.size(), out.data());
  return out;
}

std::vector<float> ClipModel::encode_image(const float* pixels, std::size_t n) const {
  const int S = cfg_.image_size, P = cfg_.patch_size, G = S / P, C = cfg_.channels;
  const std::size_t V = static_cast<std::size_t>(cfg_.vision.hidden);
  const std::size_t patches = static_cast<std::size_t>(G) * G, tokens = patches + 1;
  const std::size_t K = static_cast<std::size_t>(C) * P * P;
  // Patch embedding (a stride-P convolution without bias) as one product:
  // gather patches in the weight's (channel, row, column) order.
  std::vector<float> cols(n * patches * K);
  for (std::size_t b = 0; b < n; ++b)
    for (int gy = 0; gy < G; ++gy)
      for (int gx = 0; gx < G; ++gx) {
        float* dst = cols.data() + ((b * patches) + static_cast<std::size_t>(gy * G + gx)) * K;
        for (int c = 0; c < C; ++c)
          for (int y = 0; y < P; ++y) {
            const float* src =
                pixels +
                ((b * C + static_cast<std::size_t>(c)) * S + static_cast<std::size_t>(gy * P + y)) *
                    S +
                static_cast<std::size_t>(gx * P);
            std::copy_n(src, P, dst);
            dst += P;
          }
      }
  nn::Linear patch{static_cast<int>(K), static_cast<int>(V), patch_w_, {}};
  std::vector<float> emb(n * patches * V);
  patch.forward(cols.data(), n * patches, emb.data());
  std::vector<float> x(n * tokens * V);
  for (std::size_t b = 0; b < n; ++b) {
    float* t0 = x.data() + b * tokens * V;
    for (std::size_t k = 0; k < V; ++k) t0[k] = class_emb_[k] + vision_pos_[k];
    for (std::size_t p = 0; p < patches; ++p)
      for (std::size_t k = 0; k < V; ++k)
        t0[(p + 1) * V + k] = emb[(b * patches + p) * V + k] + vision_pos_[(p + 1) * V + k];
  }
  pre_ln_.forward(x.data(), n * tokens);
  vision_.forward(x, std::vector<int>(n, static_cast<int>(tokens)), false);
  std::vector<float> pooled(n * V);
  for (std::size_t b = 0; b < n; ++b)
    std::copy_n(x.begin() + static_cast<std::ptrdiff_t>(b * tokens * V), V,
                pooled.begin() + static_cast<std::ptrdiff_t>(b * V));
  post_ln_.forward(pooled.data(), n);
  std::vector<float> out(n * static_cast<std::size_t>(cfg_.projection_dim));
  visual_proj_.forward(pooled.data(), n, out.data());
  return out;
}

namespace {

double bicubic(double x) {
  // Keys' cubic with a = -0.5, as PIL uses.
  constexpr double a = -0.5;
  x = std::abs(x);
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

struct Taps {
  std::vector<int> start, count;
  std::vector<double> weights;  // count[i] weights from i * max_taps
  int max_taps = 0;
};

// PIL's precompute_coeffs: filter support scaled by the shrink factor,
// centred on (i + 0.5) * scale, weights normalised per output pixel.
Taps taps_for(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filterscale = std::max(1.0, scale);
  const double support = 2.0 * filterscale;
  Taps t;
  t.max_taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  t.start.resize(static_cast<std::size_t>(out_size));
  t.count.resize(static_cast<std::size_t>(out_size));
  t.weights.assign(static_cast<std::size_t>(out_size) * static_cast<std::size_t>(t.max_taps), 0.0);
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    // PIL's own (int)(x + 0.5), kept so the taps match the reference exactly: xmax is
    // non-negative, and a negative xmin (truncated toward zero) is clamped to 0 below.
    // NOLINTNEXTLINE(bugprone-incorrect-roundings): the reference's rounding, see above
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    // NOLINTNEXTLINE(bugprone-incorrect-roundings): the reference's rounding, see above
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double* w =
        t.weights.data() + static_cast<std::size_t>(i) * static_cast<std::size_t>(t.max_taps);
    double total = 0;
    for (int x = 0; x < xmax; ++x) {
      w[x] = bicubic((x + xmin - center + 0.5) / filterscale);
      total += w[x];
    }
    if (total != 0)
      for (int x = 0; x < xmax; ++x) w[x] /= total;
    t.start[static_cast<std::size_t>(i)] = xmin;
    t.count[static_cast<std::size_t>(i)] = xmax;
  }
  return t;
}

// PIL rounds the fixed-point accumulation and clips to 0..255 after each pass.
std::uint8_t clip8(double v) {
  const long r = std::lround(std::floor(v + 0.5));
  return static_cast<std::uint8_t>(r < 0 ? 0 : r > 255 ? 255 : r);
}

}  // namespace

cv::Mat pil_resize_bicubic(const cv::Mat& rgb8, int width, int height) {
  CV_Assert(rgb8.type() == CV_8UC3);
  cv::Mat src = rgb8;
  if (width != src.cols) {
    const Taps t = taps_for(src.cols, width);
    cv::Mat tmp(src.rows, width, CV_8UC3);
    for (int y = 0; y < src.rows; ++y) {
      const auto* in = src.ptr<cv::Vec3b>(y);
      auto* out = tmp.ptr<cv::Vec3b>(y);
      for (int x = 0; x < width; ++x) {
        const double* w =
            t.weights.data() + static_cast<std::size_t>(x) * static_cast<std::size_t>(t.max_taps);
        double acc[3] = {0, 0, 0};
        for (int k = 0; k < t.count[static_cast<std::size_t>(x)]; ++k) {
          const auto& p = in[t.start[static_cast<std::size_t>(x)] + k];
          for (int c = 0; c < 3; ++c) acc[c] += p[c] * w[k];
        }
        for (int c = 0; c < 3; ++c) out[x][c] = clip8(acc[c]);
      }
    }
    src = tmp;
  }
  if (height != src.rows) {
    const Taps t = taps_for(src.rows, height);
    cv::Mat tmp(height, src.cols, CV_8UC3);
    for (int y = 0; y < height; ++y) {
      const double* w =
          t.weights.data() + static_cast<std::size_t>(y) * static_cast<std::size_t>(t.max_taps);
      auto* out = tmp.ptr<cv::Vec3b>(y);
      for (int x = 0; x < src.cols; ++x) {
        double acc[3] = {0, 0, 0};
        for (int k = 0; k < t.count[static_cast<std::size_t>(y)]; ++k) {
          const auto& p = src.ptr<cv::Vec3b>(t.start[static_cast<std::size_t>(y)] + k)[x];
          for (int c = 0; c < 3; ++c) acc[c] += p[c] * w[k];
        }
        for (int c = 0; c < 3; ++c) out[x][c] = clip8(acc[c]);
      }
    }
    src = tmp;
  }
  return src.data == rgb8.data ? rgb8.clone() : src;
}

std::vector<float> clip_preprocess(const cv::Mat& bgr, int size) {
  static constexpr float kMean[3] = {0.48145466f, 0.4578275f, 0.40821073f};
  static constexpr float kStd[3] = {0.26862954f, 0.26130258f, 0.27577711f};
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  // Shorter side to `size`, the other scaled to keep the aspect ratio, as
  // the processors compute it (int of the scaled length).
  int w = rgb.cols, h = rgb.rows;
  int nw, nh;
  if (w <= h) {
    nw = size;
    nh = static_cast<int>(static_cast<double>(size) * h / w);
  } else {
    nh = size;
    nw = static_cast<int>(static_cast<double>(size) * w / h);
  }
  cv::Mat resized = (nw == w && nh == h) ? rgb : pil_resize_bicubic(rgb, nw, nh);
  // Hugging Face processors crop at the floor of half the excess.
  const int top = (nh - size) / 2, left = (nw - size) / 2;
  std::vector<float> out(3 * static_cast<std::size_t>(size) * size);
  for (int y = 0; y < size; ++y) {
    const auto* row = resized.ptr<cv::Vec3b>(top + y);
    for (int x = 0; x < size; ++x)
      for (int c = 0; c < 3; ++c)
        out[(static_cast<std::size_t>(c) * size + y) * size + x] =
            (static_cast<float>(row[left + x][c]) / 255.f - kMean[c]) / kStd[c];
  }
  return out;
}

}  // namespace atelier::engines::native
