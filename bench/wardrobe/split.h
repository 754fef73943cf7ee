// The split of the MANGO outfits fixture that the wardrobe's fitted parts
// (the tagger's category probe, the compatibility weights) are fitted and
// measured on, so that no item measured was seen in fitting: MANGO products
// recur across outfits, and a split by outfit leaks them. The HTTP test
// (tests/http/wardrobe.test.mjs) draws the same split.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace atelier::bench {

struct Outfit {
  std::string id;
  std::vector<std::string> items;
};

// FNV-1a (32 bits): a hash that tests/http/wardrobe.test.mjs computes alike,
// so it draws the same split through HTTP.
inline std::uint32_t fnv1a(const std::string& s) {
  std::uint32_t h = 2166136261U;
  for (unsigned char c : s) {
    h ^= c;
    h *= 16777619U;
  }
  return h;
}

// Greedy (the split the weights are chosen on): outfits in the order of
// FNV-1a of their ids; each joins the side its items are already on (half
// of the free ones, by FNV-1a of "<id>#side", start the measured side); one
// with items on both sides is left out. A more random measured side than
// whole components, which gather outfits of one shoot or season.
inline std::pair<std::vector<Outfit>, std::vector<Outfit>> item_disjoint_greedy(
    const std::vector<Outfit>& all, std::size_t* dropped) {
  std::vector<const Outfit*> order;
  for (const auto& o : all) order.push_back(&o);
  std::sort(order.begin(), order.end(), [](auto* a, auto* b) {
    return std::pair(fnv1a(a->id), a->id) < std::pair(fnv1a(b->id), b->id);
  });
  std::map<std::string, int> side;  // 1 fit, 2 measured
  std::vector<Outfit> train, test;
  std::size_t left_out = 0;
  for (const auto* o : order) {
    int seen = 0;
    for (const auto& id : o->items) {
      auto it = side.find(id);
      if (it != side.end()) seen |= it->second;
    }
    if (seen == 3) {
      ++left_out;
      continue;
    }
    const int to = seen ? seen : (fnv1a(o->id + "#side") % 2 == 0 ? 2 : 1);
    for (const auto& id : o->items) side[id] = to;
    (to == 2 ? test : train).push_back(*o);
  }
  if (dropped) *dropped = left_out;
  return {train, test};
}

}  // namespace atelier::bench
