// The embedding seam: every text embedder (the local GloVe-SIF one now, the
// native transformer encoders and hosted engines later) implements
// TextEmbedder, and the registry picks one by model name.
//
// Thread safety: embed() may be called concurrently.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"

namespace atelier::engines {

struct Embeddings {
  std::vector<std::vector<float>> vectors;  // one per input, L2-normalised (or all zero)
  std::int64_t tokens = 0;                  // input tokens, for usage accounting
};

class TextEmbedder {
 public:
  virtual ~TextEmbedder() = default;
  virtual const std::string& model() const = 0;
  virtual int dimensions() const = 0;
  virtual Result<Embeddings> embed(const std::vector<std::string>& texts,
                                   const WorkContext& work) const = 0;
};

class EmbedderRegistry {
 public:
  void add(std::unique_ptr<TextEmbedder> e) {
    const std::string name = e->model();
    text_[name] = std::move(e);
  }
  // nullptr when no such model.
  const TextEmbedder* text(const std::string& model) const {
    auto it = text_.find(model);
    return it == text_.end() ? nullptr : it->second.get();
  }
  // Image models are run by the vision engines; search collections only need
  // their names and dimensions to hold and compare their vectors.
  void add_image_model(const std::string& model, int dimensions) { image_[model] = dimensions; }
  int image_dimensions(const std::string& model) const {
    auto it = image_.find(model);
    return it == image_.end() ? 0 : it->second;
  }
  std::vector<std::string> text_models() const {
    std::vector<std::string> out;
    for (auto& [k, v] : text_) out.push_back(k);
    return out;
  }

 private:
  std::map<std::string, std::unique_ptr<TextEmbedder>> text_;
  std::map<std::string, int> image_;
};

}  // namespace atelier::engines
