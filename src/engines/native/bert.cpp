#include "engines/native/bert.h"

#include <fstream>
#include <nlohmann/json.hpp>

#include "engines/native/config_json.h"
#include "nn/safetensors.h"

namespace atelier::engines::native {

namespace {}  // namespace

Result<BertConfig> BertConfig::from_json_file(const std::string& path) {
  ATELIER_ASSIGN_OR_RETURN(nlohmann::json j, read_json_object(path));
  BertConfig c;
  try {
    read_field(j, "vocab_size", c.vocab_size);
    read_field(j, "hidden_size", c.hidden);
    read_field(j, "num_hidden_layers", c.layers);
    read_field(j, "num_attention_heads", c.heads);
    read_field(j, "intermediate_size", c.intermediate);
    read_field(j, "max_position_embeddings", c.max_positions);
    read_field(j, "type_vocab_size", c.type_vocab_size);
    double eps = c.eps;
    read_field(j, "layer_norm_eps", eps);
    c.eps = static_cast<float>(eps);
    std::string act = "gelu";
    read_field(j, "hidden_act", act);
    auto a = nn::activation_from_name(act);
    if (!a.is_ok()) return Status::invalid_argument(path + ": " + a.status().message());
    c.act = *a;
    std::string pos = "absolute";
    read_field(j, "position_embedding_type", pos);
    if (pos != "absolute")
      return Status::invalid_argument(path + ": position_embedding_type '" + pos +
                                      "' is not supported");
  } catch (const nlohmann::json::exception& e) {
    return Status::invalid_argument(path + ": " + e.what());
  }
  if (c.hidden <= 0 || c.heads <= 0 || c.hidden % c.heads || c.layers <= 0 || c.intermediate <= 0 ||
      c.vocab_size <= 0 || c.max_positions <= 0 || c.type_vocab_size <= 0)
    return Status::invalid_argument(
        path + ": inconsistent sizes (hidden must be a multiple of the head count)");
  return c;
}

Result<std::unique_ptr<BertModel>> BertModel::load(const std::string& config_json,
                                                   const std::string& safetensors) {
  ATELIER_ASSIGN_OR_RETURN(BertConfig c, BertConfig::from_json_file(config_json));
  ATELIER_ASSIGN_OR_RETURN(auto st, nn::SafeTensors::open(safetensors));
  // BertModel checkpoints name tensors from the root; task models
  // (BertForMaskedLM, ...) nest them under "bert.".
  std::string prefix;
  if (!st->find("embeddings.word_embeddings.weight") &&
      st->find("bert.embeddings.word_embeddings.weight"))
    prefix = "bert.";
  nn::WeightReader w(*st, prefix);
  const int H = c.hidden;
  std::vector<nn::EncoderLayer> layers;
  for (int i = 0; i < c.layers; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    nn::EncoderLayer L;
    L.qkv = nn::fuse_qkv(w.linear(p + "attention.self.query", H, H),
                         w.linear(p + "attention.self.key", H, H),
                         w.linear(p + "attention.self.value", H, H));
    L.out = w.linear(p + "attention.output.dense", H, H);
    L.ln1 = w.layer_norm(p + "attention.output.LayerNorm", H, c.eps);
    L.fc1 = w.linear(p + "intermediate.dense", H, c.intermediate);
    L.fc2 = w.linear(p + "output.dense", c.intermediate, H);
    L.ln2 = w.layer_norm(p + "output.LayerNorm", H, c.eps);
    layers.push_back(std::move(L));
  }
  nn::EncoderConfig ec{H, c.heads, c.intermediate, c.layers, c.act, false, c.eps};
  auto m = std::make_unique<BertModel>(Key{}, c, nn::Encoder(ec, std::move(layers)));
  m->word_ = w.tensor("embeddings.word_embeddings.weight", {c.vocab_size, H});
  m->position_ = w.tensor("embeddings.position_embeddings.weight", {c.max_positions, H});
  m->type_ = w.tensor("embeddings.token_type_embeddings.weight", {c.type_vocab_size, H});
  m->emb_ln_ = w.layer_norm("embeddings.LayerNorm", H, c.eps);
  if (!w.status().is_ok()) return w.status();
  return m;
}

Result<std::vector<float>> BertModel::forward(
    const std::vector<std::vector<std::int32_t>>& ids) const {
  const std::size_t H = static_cast<std::size_t>(cfg_.hidden);
  std::size_t T = 0;
  std::vector<int> lengths;
  for (auto& s : ids) {
    if (s.empty() || s.size() > static_cast<std::size_t>(cfg_.max_positions))
      return Status::invalid_argument("a sequence of " + std::to_string(s.size()) +
                                      " tokens does not fit 1.." +
                                      std::to_string(cfg_.max_positions));
    for (auto id : s)
      if (id < 0 || id >= cfg_.vocab_size)
        return Status::invalid_argument("token id " + std::to_string(id) +
                                        " is outside the vocabulary");
    lengths.push_back(static_cast<int>(s.size()));
    T += s.size();
  }
  std::vector<float> x(T * H);
  std::size_t row = 0;
  for (auto& s : ids) {
    for (std::size_t p = 0; p < s.size(); ++p, ++row) {
      float* out = x.data() + row * H;
      const float* we = word_.data() + static_cast<std::size_t>(s[p]) * H;
      const float* pe = position_.data() + p * H;
      for (std::size_t i = 0; i < H; ++i) out[i] = we[i] + type_[i] + pe[i];
    }
  }
  emb_ln_.forward(x.data(), T);
  encoder_.forward(x, lengths, false);
  return x;
}

std::vector<std::vector<float>> pool(const std::vector<float>& hidden, int width,
                                     const std::vector<int>& lengths, Pooling p, bool normalize) {
  const std::size_t W = static_cast<std::size_t>(width);
  std::vector<std::vector<float>> out;
  std::size_t row = 0;
  for (int len : lengths) {
    std::vector<float> v(W, 0.f);
    if (p == Pooling::cls) {
      std::copy(hidden.begin() + static_cast<std::ptrdiff_t>(row * W),
                hidden.begin() + static_cast<std::ptrdiff_t>((row + 1) * W), v.begin());
    } else {
      for (int t = 0; t < len; ++t)
        for (std::size_t i = 0; i < W; ++i)
          v[i] += hidden[(row + static_cast<std::size_t>(t)) * W + i];
      for (auto& x : v) x /= static_cast<float>(len);
    }
    if (normalize) nn::l2_normalize(v.data(), W);
    out.push_back(std::move(v));
    row += static_cast<std::size_t>(len);
  }
  return out;
}

}  // namespace atelier::engines::native
