#include "wardrobe/feedback.h"

#include "store/owners.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <unordered_map>

namespace atelier::wardrobe {

namespace {

std::string encode_context(const FeedbackContext& c) {
  nlohmann::json j = nlohmann::json::object();
  if (c.occasion) j["occasion"] = *c.occasion;
  if (c.season) j["season"] = *c.season;
  if (c.source) j["source"] = *c.source;
  return j.dump();
}

FeedbackContext decode_context(const std::string& s) {
  FeedbackContext c;
  const auto j = nlohmann::json::parse(s, nullptr, false);
  if (!j.is_object()) return c;
  for (auto [k, slot] : std::initializer_list<std::pair<const char*, std::optional<std::string>*>>{
           {"occasion", &c.occasion}, {"season", &c.season}, {"source", &c.source}}) {
    if (j.contains(k) && j[k].is_string()) *slot = j[k].get<std::string>();
  }
  return c;
}

Feedback read_feedback(const db::Row& r) {
  Feedback f;
  f.id = r.text(0);
  f.owner = r.text(1);
  f.event = r.text(2);
  const auto ids = nlohmann::json::parse(r.text(3), nullptr, false);
  if (ids.is_array())
    for (const auto& x : ids)
      if (x.is_string()) f.item_ids.push_back(x.get<std::string>());
  f.context = decode_context(r.text(4));
  f.created_at = r.integer(5);
  return f;
}

std::string pair_key(const std::string& a, const std::string& b) {
  return a < b ? a + "|" + b : b + "|" + a;
}

// How much a preference term moves the personal score (logit units).
constexpr double kTaste = 3.0, kColour = 3.0, kPair = 0.75;

}  // namespace

Status FeedbackRepository::add(const Feedback& f) {
  return db_.transaction(work_, [&](db::Connection& c) -> Status {
    ATELIER_RETURN_IF_ERROR(db::require_owner_live(c, f.owner));
    return c
        .execute(
            "INSERT INTO wardrobe_feedback(id, owner, event, item_ids, context, created_at) "
            "VALUES (?,?,?,?,?,?)",
            {f.id, f.owner, f.event, nlohmann::json(f.item_ids).dump(), encode_context(f.context),
             f.created_at})
        .status();
  });
}

Result<std::vector<Feedback>> FeedbackRepository::recent(const std::string& owner, int limit) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto rows, db::all<Feedback>(*c,
                                   "SELECT id, owner, event, item_ids, context, created_at FROM "
                                   "wardrobe_feedback WHERE owner=? ORDER BY created_at DESC, "
                                   "id DESC LIMIT ?",
                                   {owner, limit}, read_feedback));
  std::reverse(rows.begin(), rows.end());
  return rows;
}

Status FeedbackRepository::remove_owner(const std::string& owner) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  return c->execute("DELETE FROM wardrobe_feedback WHERE owner=?", {owner}).status();
}

Preferences Preferences::learn(const std::vector<Feedback>& events, const std::vector<Item>& items,
                               const CompatWeights& global,
                               const std::shared_ptr<const StyleSpace>& space) {
  Preferences p;
  p.weights = global;
  std::unordered_map<std::string, const Item*> by_id;
  for (const auto& it : items) by_id.emplace(it.id, &it);
  std::vector<double> liked, disliked;
  int n_liked = 0, n_disliked = 0;
  std::map<std::string, double> family;
  auto add_to = [](std::vector<double>& sum, const std::vector<float>& v) {
    if (sum.empty()) sum.assign(v.size(), 0.0);
    if (sum.size() != v.size()) return false;
    for (std::size_t k = 0; k < v.size(); ++k) sum[k] += v[k];
    return true;
  };
  for (const auto& e : events) {
    std::vector<const Item*> its;
    for (const auto& id : e.item_ids)
      if (auto f = by_id.find(id); f != by_id.end()) its.push_back(f->second);
    if (its.empty()) continue;  // items deleted since
    const double sign = e.event == "like"      ? 1.0
                        : e.event == "dislike" ? -1.0
                        : e.event == "wore"    ? 0.5
                                               : -0.25;  // skip
    if (e.event == "like") ++p.likes;
    if (e.event == "dislike") ++p.dislikes;
    if (e.event == "wore") ++p.wore;
    if (e.event == "skip") ++p.skips;
    for (const Item* it : its) {
      if (!it->color_family().empty()) family[it->color_family()] += sign;
      if (e.event == "like" || e.event == "wore") n_liked += add_to(liked, it->embedding);
      if (e.event == "dislike") n_disliked += add_to(disliked, it->embedding);
      if (e.event == "wore") p.last_worn[it->id] = std::max(p.last_worn[it->id], e.created_at);
    }
    if (its.size() >= 2) {
      for (std::size_t i = 0; i < its.size(); ++i)
        for (std::size_t j = i + 1; j < its.size(); ++j)
          p.pair_affinity[pair_key(its[i]->id, its[j]->id)] += sign;
      if (e.event == "like" || e.event == "dislike") {
        // Online logistic step from the current personal weights.
        std::vector<OutfitItem> o;
        for (const Item* it : its) o.push_back(outfit_item(*it, space));
        const Features f = features(o);
        const double y = e.event == "like" ? 1.0 : 0.0;
        const double err = y - wardrobe::score(f, p.weights);
        const auto v = f.values();
        constexpr double lr = 0.5;
        p.weights.bias += lr * err;
        for (int k = 0; k < Features::kCount; ++k)
          p.weights.w[k] = std::max(0.0, p.weights.w[k] + lr * err * v[k]);
      }
      if (e.event == "dislike") {
        std::vector<std::string> ids;
        for (const Item* it : its) ids.push_back(it->id);
        std::sort(ids.begin(), ids.end());
        p.disliked.push_back(std::move(ids));
      }
    }
  }
  for (const auto& [f, v] : family) p.color_families[f] = std::tanh(v / 3.0);
  if (n_liked || n_disliked) {
    const std::size_t dims = !liked.empty() ? liked.size() : disliked.size();
    std::vector<double> t(dims, 0.0);
    for (std::size_t k = 0; k < dims; ++k) {
      if (n_liked && liked.size() == dims) t[k] += liked[k] / n_liked;
      if (n_disliked && disliked.size() == dims) t[k] -= disliked[k] / n_disliked;
    }
    double norm = 0;
    for (double x : t) norm += x * x;
    if (norm > 0) {
      norm = std::sqrt(norm);
      for (double x : t) p.taste.push_back(float(x / norm));
    }
  }
  return p;
}

double Preferences::score(const std::vector<const Item*>& items, const Features& f,
                          std::vector<std::string>* why) const {
  double z = weights.bias;
  const auto v = f.values();
  for (int k = 0; k < Features::kCount; ++k) z += weights.w[k] * v[k];
  if (!items.empty()) {
    double taste_sum = 0, colour = 0;
    int taste_n = 0;
    std::vector<std::string> liked_families;
    for (const Item* it : items) {
      if (!taste.empty() && it->embedding.size() == taste.size()) {
        double dot = 0;
        for (std::size_t k = 0; k < taste.size(); ++k) dot += double(taste[k]) * it->embedding[k];
        taste_sum += dot;
        ++taste_n;
      }
      if (auto c = color_families.find(it->color_family()); c != color_families.end()) {
        colour += c->second;
        if (c->second >= 0.3 && std::find(liked_families.begin(), liked_families.end(), c->first) ==
                                    liked_families.end())
          liked_families.push_back(c->first);
      }
    }
    const double taste_term = taste_n ? kTaste * taste_sum / taste_n : 0;
    const double colour_term = kColour * colour / items.size();
    double pair_term = 0;
    std::vector<std::string> pairs_liked;
    for (std::size_t i = 0; i < items.size(); ++i)
      for (std::size_t j = i + 1; j < items.size(); ++j)
        if (auto a = pair_affinity.find(pair_key(items[i]->id, items[j]->id));
            a != pair_affinity.end()) {
          pair_term += kPair * std::clamp(a->second, -2.0, 2.0);
          if (a->second > 0) pairs_liked.push_back(items[i]->id + "|" + items[j]->id);
        }
    z += taste_term + colour_term + pair_term;
    if (why) {
      if (!liked_families.empty()) {
        std::string list;
        for (std::size_t i = 0; i < liked_families.size(); ++i)
          list += (i == 0                           ? ""
                   : i + 1 == liked_families.size() ? " and "
                                                    : ", ") +
                  liked_families[i];
        why->push_back("You liked " + list + " before; this outfit has " +
                       (liked_families.size() > 1 ? "them." : "it."));
      }
      if (!pairs_liked.empty())
        why->push_back("You liked or wore some of these items together before.");
      if (taste_term >= 0.5) why->push_back("It is close to what you liked before.");
    }
  }
  return 1.0 / (1.0 + std::exp(-z));
}

bool Preferences::disliked_outfit(std::vector<std::string> ids) const {
  std::sort(ids.begin(), ids.end());
  return std::find(disliked.begin(), disliked.end(), ids) != disliked.end();
}

}  // namespace atelier::wardrobe
