// Reciprocal rank fusion (Cormack, Clarke and Büttcher, 2009): each side
// contributes weight / (k + rank) for every document it ranks (rank from 1).
// Pure and deterministic: ties are broken by document id.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace atelier::search {

struct RankedSide {
  std::vector<std::string> ids;  // best first
  double weight = 1.0;
};

struct FusedHit {
  std::string id;
  double score = 0;
  std::vector<std::optional<int>> ranks;  // per side, 1-based; nullopt when absent
};

std::vector<FusedHit> reciprocal_rank_fusion(const std::vector<RankedSide>& sides, double k);

}  // namespace atelier::search
