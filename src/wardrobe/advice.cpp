#include "wardrobe/advice.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

namespace atelier::wardrobe {

namespace {

// What completes an item of each category, most needed first.
std::vector<std::string> complements(const std::string& category) {
  if (category == "top") return {"bottom", "footwear"};
  if (category == "bottom") return {"top", "footwear"};
  if (category == "dress") return {"footwear", "bag"};
  if (category == "outerwear") return {"top", "bottom"};
  if (category == "footwear") return {"bottom", "top"};
  if (category == "bag") return {"top", "footwear"};
  return {"top", "bottom"};
}

WardrobePiece piece(const Item& it, double score) {
  return {it.id, outfit_item(it).label, it.category(), tag_text(it), score};
}

// The words of a question that can name an item: lower-cased runs of letters,
// digits and inner hyphens ("t-shirt"), without the words every question has
// ("what goes with my ..."), which would match an item named "my dress".
std::vector<std::string> naming_words(const std::string& question) {
  static const std::set<std::string> kFunction = {
      "a",     "about", "an",    "and",    "any",     "are",   "best",  "can",     "could",
      "do",    "does",  "for",   "go",     "goes",    "going", "good",  "i",       "in",
      "is",    "it",    "match", "me",     "mine",    "my",    "of",    "on",      "or",
      "our",   "pair",  "pairs", "should", "style",   "that",  "the",   "these",   "this",
      "those", "to",    "wear",  "what",   "which",   "with",  "would", "matches", "outfit",
      "works", "work",  "look",  "looks",  "together"};
  std::vector<std::string> words;
  std::string w;
  auto flush = [&] {
    while (!w.empty() && w.back() == '-') w.pop_back();
    if (!w.empty() && !kFunction.count(w)) words.push_back(w);
    w.clear();
  };
  for (unsigned char c : question) {
    if (std::isalnum(c) || c >= 0x80 || (c == '-' && !w.empty()))
      w += static_cast<char>(c >= 0x80 ? c : std::tolower(c));
    else
      flush();
  }
  flush();
  return words;
}

// Whether `word` is one of the words of `text` (lower-cased).
bool has_word(const std::string& text, const std::string& word) {
  std::string lower(text.size(), ' ');
  std::transform(text.begin(), text.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (auto at = lower.find(word); at != std::string::npos; at = lower.find(word, at + 1)) {
    const bool starts = at == 0 || !std::isalnum(static_cast<unsigned char>(lower[at - 1]));
    const std::size_t end = at + word.size();
    const bool ends = end == lower.size() || !std::isalnum(static_cast<unsigned char>(lower[end]));
    if (starts && ends) return true;
  }
  return false;
}

}  // namespace

Result<std::optional<WardrobeAdvice>> advise(WardrobeService& items, OutfitService& outfits,
                                             const std::string& owner, const std::string& question,
                                             const WorkContext& work) {
  // The item the question names: searched by the question's naming words
  // only, and the nearest that shares one of them with its tags, type or name.
  const auto words = naming_words(question);
  if (words.empty()) return std::optional<WardrobeAdvice>();
  std::string query;
  for (const auto& w : words) query += (query.empty() ? "" : " ") + w;
  ATELIER_ASSIGN_OR_RETURN(auto found, items.search(owner, query, 5, work));
  const SimilarItem* named = nullptr;
  for (const auto& f : found) {
    if (f.score < kNamedItemScore) break;
    const std::string tags = tag_text(f.item);
    if (std::any_of(words.begin(), words.end(),
                    [&](const std::string& w) { return has_word(tags, w); })) {
      named = &f;
      break;
    }
  }
  if (!named) return std::optional<WardrobeAdvice>();
  const Item& anchor = named->item;
  WardrobeAdvice advice;
  advice.anchor = piece(anchor, named->score);
  for (const auto& category : complements(anchor.category())) {
    FillRequest f;
    f.anchor_item_ids = {anchor.id};
    f.category = category;
    f.k = 1;
    ATELIER_ASSIGN_OR_RETURN(auto ranked, outfits.fill(owner, f, work));
    if (ranked.empty()) continue;
    ATELIER_ASSIGN_OR_RETURN(Item match, items.get(owner, ranked[0].item_id, work));
    advice.matches.push_back(piece(match, ranked[0].score));
  }
  if (!advice.matches.empty()) {
    // What the evaluation says of the anchor with all its matches together.
    std::vector<std::string> ids = {anchor.id};
    for (const auto& m : advice.matches) ids.push_back(m.id);
    ATELIER_ASSIGN_OR_RETURN(Evaluation e, outfits.evaluate_items(owner, ids, work));
    advice.explanation = std::move(e.explanation);
  }
  return std::optional<WardrobeAdvice>(std::move(advice));
}

}  // namespace atelier::wardrobe
