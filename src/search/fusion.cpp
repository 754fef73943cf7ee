#include "search/fusion.h"

#include <algorithm>
#include <unordered_map>

namespace atelier::search {

std::vector<FusedHit> reciprocal_rank_fusion(const std::vector<RankedSide>& sides, double k) {
  std::unordered_map<std::string, std::size_t> at;
  std::vector<FusedHit> out;
  for (std::size_t s = 0; s < sides.size(); ++s) {
    for (std::size_t r = 0; r < sides[s].ids.size(); ++r) {
      const auto& id = sides[s].ids[r];
      auto [it, fresh] = at.emplace(id, out.size());
      if (fresh) out.push_back({id, 0, std::vector<std::optional<int>>(sides.size())});
      FusedHit& h = out[it->second];
      if (h.ranks[s]) continue;  // a side lists an id once; keep its best rank
      h.ranks[s] = static_cast<int>(r) + 1;
      h.score += sides[s].weight / (k + static_cast<double>(r + 1));
    }
  }
  std::sort(out.begin(), out.end(), [](const FusedHit& a, const FusedHit& b) {
    return a.score != b.score ? a.score > b.score : a.id < b.id;
  });
  return out;
}

}  // namespace atelier::search
