#include "wardrobe/outfits.h"

#include <algorithm>

#include <map>
#include <random>
#include <set>
#include <unordered_map>
#include "core/clock.h"
#include "core/ids.h"

namespace atelier::wardrobe {

namespace {

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::vector<OutfitItem> as_outfit(const std::vector<const Item*>& items,
                                  const std::shared_ptr<const StyleSpace>& space) {
  std::vector<OutfitItem> out;
  out.reserve(items.size());
  for (const Item* it : items) out.push_back(outfit_item(*it, space));
  return out;
}

bool contains_item(const std::vector<const Item*>& v, const Item* x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Each item's compatibility view, made once per request: ranking scores
// thousands of combinations of the same items.
class Views {
 public:
  Views(const std::vector<Item>& all, std::shared_ptr<const StyleSpace> space)
      : space_(std::move(space)) {
    for (const auto& it : all) views_.emplace(&it, outfit_item(it, space_));
  }
  void add(const Item& it) { views_.emplace(&it, outfit_item(it, space_)); }
  Features features_of(const std::vector<const Item*>& items) {
    std::vector<const OutfitItem*> p;
    p.reserve(items.size());
    for (const Item* it : items) p.push_back(&views_.at(it));
    return features(p, &pairs_);
  }

 private:
  std::shared_ptr<const StyleSpace> space_;
  // unordered_map never moves its elements: the cache may key on their addresses.
  std::unordered_map<const Item*, OutfitItem> views_;
  PairCache pairs_;
};

// Labels must tell items apart in explanations: "the black top (2)".
void distinct_labels(std::vector<OutfitItem>& items) {
  std::map<std::string, int> seen, total;
  for (const auto& it : items) ++total[it.label];
  for (auto& it : items)
    if (total[it.label] > 1) it.label += " (" + std::to_string(++seen[it.label]) + ")";
}

struct Candidate {
  std::vector<const Item*> items;
  double rank = 0;  // score plus the seed's small jitter
  double score = 0;
};

}  // namespace

OutfitService::OutfitService(ItemRepository& repo, FeedbackRepository& feedback,
                             const Tagger& tagger, OutfitSettings settings)
    : repo_(repo), feedback_(feedback), tagger_(tagger), settings_(std::move(settings)) {
  if (!settings_.now_ms) settings_.now_ms = [] { return unix_millis(); };
}

Result<Feedback> OutfitService::add_feedback(const std::string& owner, const std::string& event,
                                             const std::vector<std::string>& item_ids,
                                             const FeedbackContext& context,
                                             const WorkContext& work) {
  if (!contains(feedback_events(), event))
    return Status::invalid_argument("'event' must be one of: like, dislike, wore, skip");
  if (item_ids.empty() || item_ids.size() > kMaxOutfitItems)
    return Status::invalid_argument("give 'item_id' or 1 to 9 'item_ids'");
  if (context.occasion) ATELIER_RETURN_IF_ERROR(occasion_formalities(*context.occasion).status());
  if (context.season && !contains(seasons(), *context.season))
    return Status::invalid_argument("'context.season' must be one of the seasons");
  ATELIER_ASSIGN_OR_RETURN(auto all, repo_.in(work).all(owner));
  ATELIER_RETURN_IF_ERROR(owned(owner, item_ids, all).status());
  Feedback f{random_id("fb_"), owner, event, item_ids, context, settings_.now_ms()};
  ATELIER_RETURN_IF_ERROR(feedback_.in(work).add(f));
  const auto& events = feedback_events();
  feedback_counts_[std::find(events.begin(), events.end(), event) - events.begin()]++;
  return f;
}

std::uint64_t OutfitService::feedback_count(const std::string& event) const {
  const auto& events = feedback_events();
  const auto i = std::find(events.begin(), events.end(), event) - events.begin();
  return i < long(feedback_counts_.size()) ? feedback_counts_[i].load() : 0;
}

Result<Preferences> OutfitService::preferences(const std::string& owner, const WorkContext& work) {
  ATELIER_ASSIGN_OR_RETURN(auto all, repo_.in(work).all(owner));
  ATELIER_ASSIGN_OR_RETURN(auto events,
                           feedback_.in(work).recent(owner, settings_.feedback_window));
  return Preferences::learn(events, all, weights_, styles_.get(owner, all));
}

Result<std::shared_ptr<const StyleSpace>> OutfitService::style_space(const std::string& owner,
                                                                     const WorkContext& work) {
  ItemRepository repo = repo_.in(work);
  ATELIER_ASSIGN_OR_RETURN(WardrobeVersion v, repo.version(owner));
  return styles_.get(owner, v, [&] { return repo.all(owner); });
}

Result<std::vector<std::string>> occasion_formalities(const std::string& o) {
  if (o == "casual") return std::vector<std::string>{"casual", "smart casual"};
  if (o == "work") return std::vector<std::string>{"smart casual", "business"};
  if (o == "formal") return std::vector<std::string>{"business", "formal"};
  if (o == "party") return std::vector<std::string>{"smart casual", "business", "formal"};
  if (o == "sport") return std::vector<std::string>{"casual"};
  return Status::invalid_argument("'occasion' must be one of: casual, work, formal, party, sport");
}

Result<std::vector<Item>> OutfitService::owned(const std::string& owner,
                                               const std::vector<std::string>& ids,
                                               const std::vector<Item>& all) {
  (void)owner;  // `all` holds the owner's items only
  std::vector<Item> out;
  std::set<std::string> seen;
  for (const auto& id : ids) {
    if (!seen.insert(id).second)
      return Status::invalid_argument("item '" + id + "' is given twice");
    auto it = std::find_if(all.begin(), all.end(), [&](const Item& x) { return x.id == id; });
    if (it == all.end()) return Status::not_found("no wardrobe item '" + id + "'");
    out.push_back(*it);
  }
  return out;
}

Result<Evaluation> OutfitService::evaluate_items(const std::string& owner,
                                                 const std::vector<std::string>& ids,
                                                 const WorkContext& work) {
  if (ids.size() < kMinOutfitItems || ids.size() > kMaxOutfitItems)
    return Status::invalid_argument("an outfit has 2 to 9 items");
  // The named items, placed in the owner's style space (read whole only when
  // the wardrobe changed since the space was built).
  ItemRepository repo = repo_.in(work);
  std::vector<Item> named;
  std::set<std::string> seen;
  for (const auto& id : ids) {
    if (!seen.insert(id).second)
      return Status::invalid_argument("item '" + id + "' is given twice");
    ATELIER_ASSIGN_OR_RETURN(Item it, repo.find(owner, id));
    named.push_back(std::move(it));
  }
  ATELIER_ASSIGN_OR_RETURN(auto space, style_space(owner, work));
  std::vector<OutfitItem> o;
  for (const auto& it : named) o.push_back(outfit_item(it, space));
  distinct_labels(o);
  return evaluate(o, weights_);
}

Result<Evaluation> OutfitService::evaluate_inline(const std::string& owner,
                                                  const std::vector<InlineItem>& items,
                                                  const WorkContext& work) {
  if (items.size() < kMinOutfitItems || items.size() > kMaxOutfitItems)
    return Status::invalid_argument("an outfit has 2 to 9 items");
  std::shared_ptr<const StyleSpace> space;
  if (!owner.empty()) {
    ATELIER_ASSIGN_OR_RETURN(space, style_space(owner, work));
  }
  std::vector<OutfitItem> o;
  for (std::size_t i = 0; i < items.size(); ++i) {
    ATELIER_ASSIGN_OR_RETURN(Tagged t, tagger_.tag(items[i].bgr, work));
    Item it;
    it.id = "item " + std::to_string(i + 1);
    it.name = items[i].name;
    it.auto_tags = std::move(t.tags);
    it.user_tags = items[i].tags;
    it.embedding = std::move(t.embedding);
    o.push_back(outfit_item(it, space));
  }
  distinct_labels(o);
  return evaluate(o, weights_);
}

Result<engines::OutfitJudgement> OutfitService::judge(
    const cv::Mat& bgr, const std::vector<engines::OutfitPiece>& pieces, const WorkContext& work) {
  if (pieces.size() < kMinOutfitItems || pieces.size() > kMaxOutfitItems)
    return Status::invalid_argument("an outfit has 2 to 9 items");
  const cv::Rect frame(0, 0, bgr.cols, bgr.rows);
  std::vector<OutfitItem> o;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    const auto& b = pieces[i].box;
    const cv::Rect r = cv::Rect(int(b.x), int(b.y), int(b.w), int(b.h)) & frame;
    if (r.width < 8 || r.height < 8) return Status::invalid_argument("a piece is too small");
    ATELIER_ASSIGN_OR_RETURN(Tagged t, tagger_.tag(bgr(r).clone(), work));
    Item it;
    it.id = "piece " + std::to_string(i + 1);
    it.auto_tags = std::move(t.tags);
    it.user_tags.category = pieces[i].category;  // where it is says what it is
    if (it.auto_tags.category.value != pieces[i].category) {
      // The type (and what follows from it) was read for another category:
      // a torso crop classified as a skirt must not be called one.
      it.auto_tags.type.reset();
      it.auto_tags.formality.reset();
      it.auto_tags.warmth.reset();
      it.auto_tags.season.clear();
    }
    it.embedding = std::move(t.embedding);
    o.push_back(outfit_item(it));
  }
  distinct_labels(o);
  Evaluation e = evaluate(o, weights_);
  return engines::OutfitJudgement{e.score, e.verdict, std::move(e.explanation)};
}

Result<std::vector<Ranked>> OutfitService::fill(const std::string& owner, const FillRequest& r,
                                                const WorkContext& work) {
  if (!contains(categories(), r.category))
    return Status::invalid_argument("'fill.category' must be one of the categories");
  if (r.k < 1 || r.k > 100) return Status::invalid_argument("'k' must lie in [1, 100]");
  if (r.anchor_item_ids.empty() || r.anchor_item_ids.size() >= kMaxOutfitItems)
    return Status::invalid_argument("give 1 to 8 'anchor_item_ids'");
  ATELIER_ASSIGN_OR_RETURN(auto all, repo_.in(work).all(owner));
  ATELIER_ASSIGN_OR_RETURN(auto anchors, owned(owner, r.anchor_item_ids, all));
  ATELIER_ASSIGN_OR_RETURN(auto events,
                           feedback_.in(work).recent(owner, settings_.feedback_window));
  const auto space = styles_.get(owner, all);
  const Preferences prefs = Preferences::learn(events, all, weights_, space);
  Views views(all, space);
  std::vector<const Item*> base;
  for (const auto& a : anchors) {
    views.add(a);
    base.push_back(&a);
  }
  auto rank = [&](const std::vector<const Item*>& items) {
    const Features f = views.features_of(items);
    return prefs.empty() ? score(f, weights_) : prefs.score(items, f);
  };
  std::vector<std::pair<double, const Item*>> scored;
  for (const auto& it : all) {
    if (it.category() != r.category || contains(r.anchor_item_ids, it.id)) continue;
    if (r.type && it.type() != *r.type) continue;
    auto items = base;
    items.push_back(&it);
    scored.emplace_back(rank(items), &it);
    if (scored.size() % 64 == 0) ATELIER_RETURN_IF_ERROR(work.check());
  }
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second->id < b.second->id;
  });
  if (scored.size() > static_cast<std::size_t>(r.k)) scored.resize(static_cast<std::size_t>(r.k));
  std::vector<Ranked> out;
  for (const auto& [s, it] : scored) {
    auto items = base;
    items.push_back(it);
    auto o = as_outfit(items, space);
    distinct_labels(o);
    Ranked ranked{it->id, s, evaluate(o, weights_).explanation};
    if (!prefs.empty()) (void)prefs.score(items, views.features_of(items), &ranked.explanation);
    out.push_back(std::move(ranked));
  }
  return out;
}

namespace {

// The request's own checks, before anything is read; `allowed` gets the
// formality levels of its occasion.
Status check_recommend(const RecommendRequest& r,
                       std::optional<std::vector<std::string>>& allowed) {
  if (r.count < 1 || r.count > 20) return Status::invalid_argument("'count' must lie in [1, 20]");
  if (r.occasion) {
    ATELIER_ASSIGN_OR_RETURN(allowed, occasion_formalities(*r.occasion));
  }
  if (r.season && !contains(seasons(), *r.season))
    return Status::invalid_argument("'season' must be one of: spring, summer, autumn, winter");
  for (const auto& id : r.anchor_item_ids)
    if (contains(r.exclude_item_ids, id))
      return Status::invalid_argument("item '" + id + "' is both an anchor and excluded");
  const auto& w = r.weather;
  if (w.precipitation && !(*w.precipitation >= 0 && *w.precipitation <= 1))
    return Status::invalid_argument("'weather.precipitation' is a chance in [0, 1]");
  if (w.temperature_c && !(*w.temperature_c >= -60 && *w.temperature_c <= 60))
    return Status::invalid_argument("'weather.temperature_c' must lie in [-60, 60]");
  if (r.season && w.temperature_c &&
      ((*r.season == "summer" && *w.temperature_c < 5) ||
       (*r.season == "winter" && *w.temperature_c > 25)))
    return Status::invalid_argument("'season' and 'weather.temperature_c' contradict each other");
  return Status::ok();
}

// Items by category.
using Pool = std::map<std::string, std::vector<const Item*>>;

// The pool: the owner's items that fit the occasion, season and weather.
Pool pool_for(const std::vector<Item>& all, const RecommendRequest& r,
              const std::optional<std::vector<std::string>>& allowed, bool hot,
              const Preferences& prefs, std::int64_t worn_since) {
  Pool pool;
  for (const auto& it : all) {
    if (contains(r.exclude_item_ids, it.id) || contains(r.anchor_item_ids, it.id)) continue;
    const auto f = it.formality();
    if (allowed && f && !contains(*allowed, *f)) continue;
    const auto s = it.season();
    if (r.season && !s.empty() && !contains(s, *r.season)) continue;
    if (hot && it.warmth() == "warm") continue;
    if (auto w = prefs.last_worn.find(it.id); w != prefs.last_worn.end() && w->second >= worn_since)
      continue;  // worn recently
    pool[it.category()].push_back(&it);
  }
  return pool;
}

struct Slots {
  std::map<std::string, const Item*> fixed;  // anchored slots
  std::vector<const Item*> extra_anchors;    // anchors beyond one per slot (accessories)
};

Slots slots_of(const std::vector<Item>& anchors) {
  Slots slots;
  auto& fixed = slots.fixed;
  for (const auto& a : anchors) {
    const std::string c = a.category();
    if (c == "accessory" || fixed.count(c)) {
      slots.extra_anchors.push_back(&a);
    } else {
      fixed[c] = &a;
    }
  }
  return slots;
}

// Cores: a top and a bottom, or a dress.
std::vector<std::vector<const Item*>> cores_of(Slots& slots, Pool& pool) {
  auto& fixed = slots.fixed;
  auto choices = [&](const std::string& c) {
    return fixed.count(c) ? std::vector<const Item*>{fixed[c]} : pool[c];
  };
  std::vector<std::vector<const Item*>> cores;
  if (!fixed.count("dress")) {
    for (const Item* t : choices("top"))
      for (const Item* b : choices("bottom")) cores.push_back({t, b});
  }
  if (!fixed.count("top") && !fixed.count("bottom")) {
    for (const Item* d : choices("dress")) cores.push_back({d});
  }
  return cores;
}

// An outfit's score: the owner's preferences when they gave any feedback,
// else compatibility alone.
struct Ranker {
  Views& views;
  const Preferences& prefs;
  const CompatWeights& weights;
  double operator()(const std::vector<const Item*>& items) const {
    const Features f = views.features_of(items);
    return prefs.empty() ? score(f, weights) : prefs.score(items, f);
  }
};

// The seed's small jitter on ranks, drawn in a fixed order.
struct Jitter {
  std::mt19937_64 rng;
  std::uniform_real_distribution<double> jitter{0.0, 0.02};
  double operator()() { return jitter(rng); }
};

std::vector<const Item*> with(std::vector<const Item*> v, const Item* x) {
  if (x) v.push_back(x);
  return v;
}

bool by_rank(const Candidate& a, const Candidate& b) {
  return a.rank > b.rank;
}

// Each core with the anchors beyond it, ranked; the best 60 stay.
Result<std::vector<Candidate>> rank_cores(const std::vector<std::vector<const Item*>>& cores,
                                          Slots& slots, const Ranker& rank, Jitter& jitter,
                                          const WorkContext& work) {
  auto& fixed = slots.fixed;
  std::vector<Candidate> ranked;
  for (const auto& core : cores) {
    auto items = core;
    for (const Item* a : slots.extra_anchors) items.push_back(a);
    for (const char* c : {"footwear", "outerwear", "bag"})
      if (fixed.count(c)) items.push_back(fixed[c]);
    const double s = rank(items);
    ranked.push_back({items, s + jitter(), s});
    if (ranked.size() % 64 == 0) ATELIER_RETURN_IF_ERROR(work.check());
  }
  std::sort(ranked.begin(), ranked.end(), by_rank);
  if (ranked.size() > 60) ranked.resize(60);
  return ranked;
}

// The item of `options` that lifts `base` highest above `floor` (none: null).
std::pair<const Item*, double> best_addition(const Ranker& rank,
                                             const std::vector<const Item*>& base,
                                             const std::vector<const Item*>& options,
                                             double floor) {
  const Item* best = nullptr;
  double best_score = floor;
  for (const Item* x : options) {
    const double s = rank(with(base, x));
    if (s > best_score) {
      best = x;
      best_score = s;
    }
  }
  return {best, best_score};
}

// Complete each core: footwear when there is any, outerwear when the
// weather calls for it, a bag and one accessory when they add to the score.
Status complete_candidates(std::vector<Candidate>& ranked, const Slots& slots, Pool& pool,
                           bool needs_outerwear, const Ranker& rank, Jitter& jitter,
                           const WorkContext& work) {
  const auto& fixed = slots.fixed;
  for (auto& cand : ranked) {
    ATELIER_RETURN_IF_ERROR(work.check());
    if (!fixed.count("footwear") && !pool["footwear"].empty()) {
      auto [x, s] = best_addition(rank, cand.items, pool["footwear"], -1);
      cand.items.push_back(x);
      cand.score = s;
    }
    if (needs_outerwear && !fixed.count("outerwear") && !pool["outerwear"].empty()) {
      auto [x, s] = best_addition(rank, cand.items, pool["outerwear"], -1);
      cand.items.push_back(x);
      cand.score = s;
    }
    for (const char* optional : {"bag", "accessory"}) {
      if (std::string(optional) == "bag" && fixed.count("bag")) continue;
      auto [x, s] = best_addition(rank, cand.items, pool[optional], cand.score);
      if (x) {
        cand.items.push_back(x);
        cand.score = s;
      }
    }
    cand.rank = cand.score + jitter();
  }
  return Status::ok();
}

// Diverse: two outfits share at most half the items of the smaller one.
std::vector<const Candidate*> choose_diverse(const std::vector<Candidate>& ranked, int count,
                                             const Preferences& prefs) {
  std::vector<const Candidate*> chosen;
  for (const auto& cand : ranked) {
    if (static_cast<int>(chosen.size()) >= count) break;
    std::vector<std::string> ids;
    for (const Item* x : cand.items) ids.push_back(x->id);
    if (prefs.disliked_outfit(ids)) continue;  // not proposed again
    bool diverse = true;
    for (const Candidate* c : chosen) {
      std::size_t shared = 0;
      for (const Item* x : cand.items) shared += contains_item(c->items, x);
      if (2 * shared > std::min(c->items.size(), cand.items.size())) diverse = false;
    }
    if (diverse) chosen.push_back(&cand);
  }
  return chosen;
}

Outfit outfit_of(const Candidate& c, const std::shared_ptr<const StyleSpace>& space,
                 const CompatWeights& weights, const Preferences& prefs, Views& views) {
  Outfit o;
  for (const Item* x : c.items) o.item_ids.push_back(x->id);
  auto items = as_outfit(c.items, space);
  distinct_labels(items);
  o.evaluation = evaluate(items, weights);
  if (!prefs.empty()) {
    o.evaluation.score = c.score;  // the personal score it was ranked by
    // What lowers the outfit's own score is not said of a personal score
    // that reaches "goes well together".
    if (c.score >= 0.6 && !o.evaluation.lowered_by.empty()) {
      o.evaluation.lowered_by.clear();
      auto& lines = o.evaluation.explanation;
      std::erase_if(lines, [](const std::string& l) { return l.rfind("What lowers", 0) == 0; });
    }
    (void)prefs.score(c.items, views.features_of(c.items), &o.evaluation.explanation);
  }
  return o;
}

// Why there are fewer outfits, or fewer pieces, than asked.
void add_notes(Recommendation& out, Pool& pool, const Slots& slots, bool needs_outerwear,
               int count) {
  const auto& fixed = slots.fixed;
  std::vector<std::string> notes;
  if (pool["footwear"].empty() && !fixed.count("footwear"))
    notes.push_back("no footwear fits the request, so the outfits have none");
  if (needs_outerwear && pool["outerwear"].empty() && !fixed.count("outerwear"))
    notes.push_back("the weather calls for outerwear but none fits the request");
  if (static_cast<int>(out.outfits.size()) < count)
    notes.push_back("only " + std::to_string(out.outfits.size()) +
                    " outfits differ enough from each other");
  for (const auto& n : notes) out.note += (out.note.empty() ? "" : "; ") + n;
}

}  // namespace

Result<Recommendation> OutfitService::recommend(const std::string& owner, const RecommendRequest& r,
                                                const WorkContext& work) {
  std::optional<std::vector<std::string>> allowed;
  ATELIER_RETURN_IF_ERROR(check_recommend(r, allowed));

  ATELIER_ASSIGN_OR_RETURN(auto all, repo_.in(work).all(owner));
  ATELIER_ASSIGN_OR_RETURN(auto anchors, owned(owner, r.anchor_item_ids, all));
  ATELIER_ASSIGN_OR_RETURN(auto events,
                           feedback_.in(work).recent(owner, settings_.feedback_window));
  const auto space = styles_.get(owner, all);
  const Preferences prefs = Preferences::learn(events, all, weights_, space);
  const std::int64_t worn_since =
      settings_.now_ms() - std::int64_t(settings_.worn_days) * 86'400'000;
  Recommendation out;
  if (all.empty()) {
    out.note = "the wardrobe is empty: add items first";
    return out;
  }
  const auto& w = r.weather;
  const bool cold = w.temperature_c && *w.temperature_c < 15;
  const bool hot = w.temperature_c && *w.temperature_c >= 24;
  const bool wet = w.precipitation && *w.precipitation >= 0.5;

  Pool pool = pool_for(all, r, allowed, hot, prefs, worn_since);
  Slots slots = slots_of(anchors);
  const auto cores = cores_of(slots, pool);
  if (cores.empty()) {
    out.note = "the wardrobe has no top and bottom and no dress that fit the request";
    return out;
  }
  Views views(all, space);
  for (const auto& a : anchors) views.add(a);
  const Ranker rank{views, prefs, weights_};
  Jitter jitter{std::mt19937_64(r.seed)};
  ATELIER_ASSIGN_OR_RETURN(auto ranked, rank_cores(cores, slots, rank, jitter, work));
  ATELIER_RETURN_IF_ERROR(
      complete_candidates(ranked, slots, pool, cold || wet, rank, jitter, work));
  std::sort(ranked.begin(), ranked.end(), by_rank);
  for (const Candidate* c : choose_diverse(ranked, r.count, prefs))
    out.outfits.push_back(outfit_of(*c, space, weights_, prefs, views));
  add_notes(out, pool, slots, cold || wet, r.count);
  return out;
}

}  // namespace atelier::wardrobe
