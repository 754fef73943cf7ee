// Service tiers: what an identity may do and how much (quotas, limits and
// the design studio's daily generations are per tier).
#pragma once

#include <string_view>

namespace atelier {

enum class Tier { free = 0, authenticated = 1, premium = 2, admin = 3 };
std::string_view tier_name(Tier t) noexcept;
bool parse_tier(std::string_view s, Tier* out) noexcept;

}  // namespace atelier
