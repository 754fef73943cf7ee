#include "engines/image_models.h"

#include <cstdint>
#include <cstring>
#include <optional>

namespace atelier::engines {

Result<engines::ImageEncoder*> ImageModels::get(const std::string& model) const {
  if (auto it = encoders.find(model); it != encoders.end() && it->second) return it->second;
  if (auto it = unavailable.find(model); it != unavailable.end())
    return Status::unavailable("image model '" + model + "' is not loaded: " + it->second);
  std::string names;
  for (auto& [k, v] : encoders) names += (names.empty() ? "" : ", ") + k;
  return Status::not_found("no image embedding model '" + model +
                           "'; available: " + (names.empty() ? "none" : names));
}

namespace {

// [u32 n][n floats][u32 m][m floats], host byte order (replicas of one build share it).
std::string pack(const engines::ImageFeatures& f) {
  std::string out;
  for (const auto* v : {&f.embedding, &f.probs}) {
    const auto n = static_cast<std::uint32_t>(v->size());
    out.append(reinterpret_cast<const char*>(&n), sizeof n);
    out.append(reinterpret_cast<const char*>(v->data()), n * sizeof(float));
  }
  return out;
}

std::optional<engines::ImageFeatures> unpack(const std::string& s) {
  engines::ImageFeatures f;
  std::size_t at = 0;
  for (auto* v : {&f.embedding, &f.probs}) {
    std::uint32_t n = 0;
    if (s.size() - at < sizeof n) return std::nullopt;
    std::memcpy(&n, s.data() + at, sizeof n);
    at += sizeof n;
    if ((s.size() - at) / sizeof(float) < n) return std::nullopt;
    v->resize(n);
    std::memcpy(v->data(), s.data() + at, n * sizeof(float));
    at += n * sizeof(float);
  }
  if (at != s.size()) return std::nullopt;
  return f;
}

}  // namespace

Result<std::vector<engines::ImageFeatures>> ImageModels::encode(engines::ImageEncoder& encoder,
                                                                const std::vector<Input>& in,
                                                                const WorkContext& work) const {
  std::vector<engines::ImageFeatures> out(in.size());
  std::vector<std::string> keys(in.size());
  std::vector<std::size_t> todo;
  std::vector<cv::Mat> mats;
  for (std::size_t i = 0; i < in.size(); ++i) {
    keys[i] = "embed|" + encoder.model() + "|" + std::to_string(in[i].bgr->cols) + "x" +
              std::to_string(in[i].bgr->rows) + "|" + in[i].sha256_hex;
    if (cache && !in[i].sha256_hex.empty()) {
      if (auto hit = cache->get(keys[i])) {
        if (auto f = unpack(*hit);
            f && f->embedding.size() == static_cast<std::size_t>(encoder.dimensions())) {
          out[i] = std::move(*f);
          continue;
        }
      }
    }
    todo.push_back(i);
    mats.push_back(*in[i].bgr);
  }
  if (todo.empty()) return out;
  ATELIER_ASSIGN_OR_RETURN(auto feats, encoder.encode(mats, work));
  if (feats.size() != todo.size()) return Status::internal("the encoder answered the wrong count");
  for (std::size_t k = 0; k < todo.size(); ++k) {
    const std::size_t i = todo[k];
    if (cache && !in[i].sha256_hex.empty()) cache->put(keys[i], pack(feats[k]));
    out[i] = std::move(feats[k]);
  }
  return out;
}

}  // namespace atelier::engines
