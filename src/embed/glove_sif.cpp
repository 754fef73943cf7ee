#include "embed/glove_sif.h"

#include <cmath>

namespace atelier::embed {

GloveSifEmbedder::GloveSifEmbedder(std::string model, std::unique_ptr<WordVectors> vectors,
                                   const text::Analyzer& analyzer, double a)
    : model_(std::move(model)),
      vectors_(std::move(vectors)),
      analyzer_(analyzer),
      a_(a),
      harmonic_(0) {
  for (std::uint32_t r = 1; r <= vectors_->size(); ++r) harmonic_ += 1.0 / r;
}

double GloveSifEmbedder::weight(std::uint32_t rank) const {
  const double p = 1.0 / ((rank + 1.0) * harmonic_);
  return a_ / (a_ + p);
}

Result<engines::Embeddings> GloveSifEmbedder::embed(const std::vector<std::string>& texts,
                                                    const WorkContext& work) const {
  engines::Embeddings out;
  out.vectors.reserve(texts.size());
  const std::size_t dim = vectors_->dim();
  const auto u = vectors_->common_component();
  for (const auto& t : texts) {
    ATELIER_RETURN_IF_ERROR(work.check());
    // English vectors: the analyzer's English tokenisation and case folding.
    ATELIER_ASSIGN_OR_RETURN(text::Analysis a,
                             analyzer_.analyze(t, "english", /*with_sentences=*/false));
    std::vector<double> v(dim, 0.0);
    int known = 0;
    for (const auto& tok : a.tokens) {
      if (tok.type != text::TokenType::word && tok.type != text::TokenType::number) continue;
      ++out.tokens;
      const auto rank = vectors_->rank(tok.normalized);
      if (rank < 0) continue;
      const double w = weight(static_cast<std::uint32_t>(rank));
      const auto vec = vectors_->vector(static_cast<std::uint32_t>(rank));
      for (std::size_t d = 0; d < dim; ++d) v[d] += w * vec[d];
      ++known;
    }
    std::vector<float> result(dim, 0.0f);
    if (known > 0) {
      double proj = 0;
      for (std::size_t d = 0; d < dim; ++d) {
        v[d] /= known;
        proj += v[d] * u[d];
      }
      double norm = 0;
      for (std::size_t d = 0; d < dim; ++d) {
        v[d] -= proj * u[d];
        norm += v[d] * v[d];
      }
      norm = std::sqrt(norm);
      if (norm > 0) {
        for (std::size_t d = 0; d < dim; ++d) result[d] = static_cast<float>(v[d] / norm);
      }
    }
    out.vectors.push_back(std::move(result));
  }
  return out;
}

}  // namespace atelier::embed
