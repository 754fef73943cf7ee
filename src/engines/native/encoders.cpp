#include "engines/native/encoders.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "engines/native/bert.h"
#include "engines/native/clip.h"
#include "engines/native/config_json.h"
#include "nn/ops.h"
#include "tokenize/clip_bpe.h"
#include "tokenize/wordpiece.h"

namespace atelier::engines::native {

namespace fs = std::filesystem;

namespace {

using Seqs = std::vector<std::vector<std::int32_t>>;
using Vecs = std::vector<std::vector<float>>;

// One slot per call holding all of that call's inputs; the model thread
// concatenates the slots and runs forwards of at most `max` inputs.
template <class Item>
typename Batcher<std::vector<Item>, Vecs>::RunFn ragged(
    std::size_t max, std::function<Result<Vecs>(const std::vector<Item>&)> fwd) {
  return [max, fwd = std::move(fwd)](std::vector<std::vector<Item>>& slots) {
    std::vector<Item> all;
    for (auto& s : slots)
      for (auto& x : s) all.push_back(std::move(x));
    Vecs res;
    Status failed;
    for (std::size_t at = 0; at < all.size() && failed.is_ok(); at += max) {
      std::vector<Item> chunk(
          std::make_move_iterator(all.begin() + static_cast<std::ptrdiff_t>(at)),
          std::make_move_iterator(all.begin() +
                                  static_cast<std::ptrdiff_t>(std::min(all.size(), at + max))));
      auto r = fwd(chunk);
      if (!r.is_ok())
        failed = r.status();
      else
        for (auto& v : *r) res.push_back(std::move(v));
    }
    std::vector<Result<Vecs>> outs;
    std::size_t next = 0;
    for (auto& s : slots) {
      if (!failed.is_ok()) {
        outs.push_back(failed);
        continue;
      }
      Vecs mine(
          std::make_move_iterator(res.begin() + static_cast<std::ptrdiff_t>(next)),
          std::make_move_iterator(res.begin() + static_cast<std::ptrdiff_t>(next + s.size())));
      next += s.size();
      outs.push_back(std::move(mine));
    }
    return outs;
  };
}

template <class Item>
std::unique_ptr<Batcher<std::vector<Item>, Vecs>> make_batcher(
    const std::string& name, const NativeOptions& opt,
    std::function<Result<Vecs>(const std::vector<Item>&)> fwd) {
  BatcherOptions bo{name, opt.batch_max, opt.window, opt.queue_capacity};
  // Each slot may hold many inputs, so the batcher takes few slots and the
  // forwards are bounded by `ragged`.
  bo.max_batch = std::max<std::size_t>(1, opt.batch_max);
  typename Batcher<std::vector<Item>, Vecs>::ObserveFn observe;
  if (opt.observer) observe = opt.observer(name);
  return std::make_unique<Batcher<std::vector<Item>, Vecs>>(
      bo, ragged<Item>(opt.batch_max, std::move(fwd)), observe);
}

Vecs rows(const std::vector<float>& flat, std::size_t n, std::size_t width, bool normalize) {
  Vecs out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i].assign(flat.begin() + static_cast<std::ptrdiff_t>(i * width),
                  flat.begin() + static_cast<std::ptrdiff_t>((i + 1) * width));
    if (normalize) nn::l2_normalize(out[i].data(), width);
  }
  return out;
}

// Tokenises every text (counting tokens for usage) and runs the sequences
// through the model's batcher as one slot.
template <class Encode>
Result<engines::Embeddings> embed_with(const std::vector<std::string>& texts,
                                       Batcher<Seqs, Vecs>& batcher, const WorkContext& work,
                                       Encode encode) {
  engines::Embeddings out;
  if (texts.empty()) return out;
  Seqs seqs;
  for (auto& t : texts) {
    auto e = encode(t);
    out.tokens += static_cast<std::int64_t>(e.ids.size());
    seqs.push_back(std::move(e.ids));
  }
  ATELIER_ASSIGN_OR_RETURN(out.vectors, batcher.run(std::move(seqs), work));
  return out;
}

class BertEmbedder final : public engines::TextEmbedder {
 public:
  BertEmbedder(std::string name, std::unique_ptr<tokenize::WordPiece> tok,
               std::shared_ptr<const BertModel> model, Pooling pooling, std::size_t max_len,
               const NativeOptions& opt)
      : name_(std::move(name)),
        tok_(std::move(tok)),
        model_(std::move(model)),
        pooling_(pooling),
        max_len_(max_len) {
    batcher_ = make_batcher<std::vector<std::int32_t>>(
        name_, opt, [this](const Seqs& seqs) -> Result<Vecs> {
          ATELIER_ASSIGN_OR_RETURN(auto hidden, model_->forward(seqs));
          std::vector<int> lengths;
          for (auto& s : seqs) lengths.push_back(static_cast<int>(s.size()));
          return pool(hidden, model_->config().hidden, lengths, pooling_, true);
        });
  }
  const std::string& model() const override { return name_; }
  int dimensions() const override { return model_->config().hidden; }
  Result<engines::Embeddings> embed(const std::vector<std::string>& texts,
                                    const WorkContext& work) const override {
    return embed_with(texts, *batcher_, work,
                      [this](const std::string& t) { return tok_->encode(t, max_len_); });
  }

 private:
  std::string name_;
  std::unique_ptr<tokenize::WordPiece> tok_;
  std::shared_ptr<const BertModel> model_;
  Pooling pooling_;
  std::size_t max_len_;
  std::unique_ptr<Batcher<Seqs, Vecs>> batcher_;  // last: stops before the model goes
};

class ClipTextEmbedder final : public engines::TextEmbedder {
 public:
  ClipTextEmbedder(std::string name, std::unique_ptr<tokenize::ClipBpe> tok,
                   std::shared_ptr<const ClipModel> model, const NativeOptions& opt)
      : name_(std::move(name)), tok_(std::move(tok)), model_(std::move(model)) {
    batcher_ = make_batcher<std::vector<std::int32_t>>(
        name_ + ":text", opt, [this](const Seqs& seqs) -> Result<Vecs> {
          ATELIER_ASSIGN_OR_RETURN(auto flat, model_->encode_text(seqs, tok_->eot_id()));
          return rows(flat, seqs.size(), static_cast<std::size_t>(model_->config().projection_dim),
                      true);
        });
  }
  const std::string& model() const override { return name_; }
  int dimensions() const override { return model_->config().projection_dim; }
  Result<engines::Embeddings> embed(const std::vector<std::string>& texts,
                                    const WorkContext& work) const override {
    return embed_with(texts, *batcher_, work, [this](const std::string& t) {
      return tok_->encode(t, static_cast<std::size_t>(model_->config().max_positions));
    });
  }

 private:
  std::string name_;
  std::unique_ptr<tokenize::ClipBpe> tok_;
  std::shared_ptr<const ClipModel> model_;
  std::unique_ptr<Batcher<Seqs, Vecs>> batcher_;
};

class ClipImageEncoder final : public ImageEncoder {
 public:
  ClipImageEncoder(std::string name, std::shared_ptr<const ClipModel> model,
                   const NativeOptions& opt)
      : name_(std::move(name)), model_(std::move(model)) {
    batcher_ = make_batcher<std::vector<float>>(
        name_ + ":image", opt, [this](const Vecs& pixels) -> Result<Vecs> {
          const auto& c = model_->config();
          const std::size_t per = 3 * static_cast<std::size_t>(c.image_size) * c.image_size;
          std::vector<float> flat(pixels.size() * per);
          for (std::size_t i = 0; i < pixels.size(); ++i)
            std::copy(pixels[i].begin(), pixels[i].end(),
                      flat.begin() + static_cast<std::ptrdiff_t>(i * per));
          return rows(model_->encode_image(flat.data(), pixels.size()), pixels.size(),
                      static_cast<std::size_t>(c.projection_dim), true);
        });
  }
  const std::string& model() const override { return name_; }
  int dimensions() const override { return model_->config().projection_dim; }
  const std::vector<std::string>& labels() const override { return labels_; }
  Result<std::vector<ImageFeatures>> encode(const std::vector<cv::Mat>& bgr,
                                            const WorkContext& work) override {
    Vecs pixels;
    for (auto& m : bgr) pixels.push_back(clip_preprocess(m, model_->config().image_size));
    ATELIER_ASSIGN_OR_RETURN(Vecs v, batcher_->run(std::move(pixels), work));
    std::vector<ImageFeatures> out(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) out[i].embedding = std::move(v[i]);
    return out;
  }

 private:
  std::string name_;
  std::shared_ptr<const ClipModel> model_;
  std::vector<std::string> labels_;  // CLIP has no fixed classes
  std::unique_ptr<Batcher<Vecs, Vecs>> batcher_;
};

Result<nlohmann::json> read_json(const fs::path& p) {
  return read_json_object(p.string());
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

}  // namespace

Result<HfModel> load_hf_folder(const std::string& dir_s, const std::string& name,
                               const NativeOptions& opt) {
  const fs::path dir(dir_s);
  ATELIER_ASSIGN_OR_RETURN(auto cfg, read_json(dir / "config.json"));
  const std::string type = cfg.value("model_type", "");
  const fs::path weights = dir / "model.safetensors";
  if (!is_file(weights))
    return Status::not_found((dir / "model.safetensors").string() +
                             ": missing (only safetensors weights are loaded)");
  HfModel m;
  m.name = name;
  m.architecture = type;
  if (type == "bert") {
    ATELIER_ASSIGN_OR_RETURN(auto model,
                             BertModel::load((dir / "config.json").string(), weights.string()));
    ATELIER_ASSIGN_OR_RETURN(auto wpo, tokenize::WordPiece::options_from_config(
                                           (dir / "tokenizer_config.json").string(), {}));
    Pooling pooling = Pooling::mean;
    if (is_file(dir / "1_Pooling/config.json")) {
      ATELIER_ASSIGN_OR_RETURN(auto pj, read_json(dir / "1_Pooling/config.json"));
      if (pj.value("pooling_mode_cls_token", false))
        pooling = Pooling::cls;
      else if (!pj.value("pooling_mode_mean_tokens", true))
        return Status::invalid_argument((dir / "1_Pooling/config.json").string() +
                                        ": only mean and CLS pooling are supported");
    }
    std::size_t max_len = std::min<std::size_t>(
        wpo.max_length, static_cast<std::size_t>(model->config().max_positions));
    if (is_file(dir / "sentence_bert_config.json")) {
      ATELIER_ASSIGN_OR_RETURN(auto sj, read_json(dir / "sentence_bert_config.json"));
      if (sj.contains("max_seq_length") && sj["max_seq_length"].is_number_unsigned())
        max_len = std::min<std::size_t>(max_len, sj["max_seq_length"].get<std::size_t>());
    }
    wpo.max_length = max_len;
    ATELIER_ASSIGN_OR_RETURN(auto tok,
                             tokenize::WordPiece::load((dir / "vocab.txt").string(), wpo));
    if (tok->vocab_size() > static_cast<std::size_t>(model->config().vocab_size))
      return Status::invalid_argument((dir / "vocab.txt").string() +
                                      " has more tokens than config.json's vocab_size");
    m.text = std::make_unique<BertEmbedder>(name, std::move(tok),
                                            std::shared_ptr<const BertModel>(std::move(model)),
                                            pooling, max_len, opt);
    return m;
  }
  if (type == "clip") {
    ATELIER_ASSIGN_OR_RETURN(auto model,
                             ClipModel::load((dir / "config.json").string(), weights.string()));
    std::unique_ptr<tokenize::ClipBpe> tok;
    if (is_file(dir / "vocab.json") && is_file(dir / "merges.txt")) {
      ATELIER_ASSIGN_OR_RETURN(tok, tokenize::ClipBpe::load_hf((dir / "vocab.json").string(),
                                                               (dir / "merges.txt").string()));
    } else {
      ATELIER_ASSIGN_OR_RETURN(tok, tokenize::ClipBpe::load_simple_vocab(
                                        (dir / "bpe_simple_vocab_16e6.txt.gz").string()));
    }
    if (tok->vocab_size() > static_cast<std::size_t>(model->config().vocab_size))
      return Status::invalid_argument(
          dir_s + ": the tokenizer has more tokens than config.json's vocab_size");
    std::shared_ptr<const ClipModel> shared(std::move(model));
    m.text = std::make_unique<ClipTextEmbedder>(name, std::move(tok), shared, opt);
    m.image = std::make_unique<ClipImageEncoder>(name, shared, opt);
    return m;
  }
  return Status::invalid_argument((dir / "config.json").string() + ": model_type '" + type +
                                  "' is not supported (bert and clip are)");
}

}  // namespace atelier::engines::native
