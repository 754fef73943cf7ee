// Sentence embeddings from word vectors by smooth inverse frequency (Arora,
// Liang and Ma, 2017): the SIF-weighted mean of the known words' vectors,
// weight a / (a + p(w)) with p(w) from the word's frequency rank (Zipf), minus
// its projection on the common component, L2-normalised. Text with no known
// word gets the zero vector.
#pragma once

#include <memory>

#include "embed/word_vectors.h"
#include "engines/embedder.h"
#include "text/analyzer.h"

namespace atelier::embed {

class GloveSifEmbedder final : public engines::TextEmbedder {
 public:
  GloveSifEmbedder(std::string model, std::unique_ptr<WordVectors> vectors,
                   const text::Analyzer& analyzer, double a = 1e-3);
  const std::string& model() const override { return model_; }
  int dimensions() const override { return static_cast<int>(vectors_->dim()); }
  Result<engines::Embeddings> embed(const std::vector<std::string>& texts,
                                    const WorkContext& work) const override;

  // The SIF weight of the word at `rank`.
  double weight(std::uint32_t rank) const;

 private:
  std::string model_;
  std::unique_ptr<WordVectors> vectors_;
  const text::Analyzer& analyzer_;
  double a_;
  double harmonic_;  // H_N, the Zipf normaliser
};

}  // namespace atelier::embed
