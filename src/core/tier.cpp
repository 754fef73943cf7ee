#include "core/tier.h"

namespace atelier {

std::string_view tier_name(Tier t) noexcept {
  switch (t) {
    case Tier::free:
      return "free";
    case Tier::authenticated:
      return "authenticated";
    case Tier::premium:
      return "premium";
    case Tier::admin:
      return "admin";
  }
  return "free";
}

bool parse_tier(std::string_view s, Tier* out) noexcept {
  for (Tier t : {Tier::free, Tier::authenticated, Tier::premium, Tier::admin}) {
    if (s == tier_name(t)) {
      *out = t;
      return true;
    }
  }
  return false;
}

}  // namespace atelier
