#include "chat/definition_match.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace atelier::chat {
namespace {

// The words a question uses to ask for a word, not to describe it.
bool asking_word(const std::string& w) {
  static const std::set<std::string> kAsking = {"word",   "words", "term",    "terms",
                                                "mean",   "means", "meaning", "call",
                                                "called", "name",  "named"};
  return kAsking.count(w) > 0;
}

double dot(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) s += double(a[i]) * b[i];
  return s;
}

// The weights, fitted on half of the GCIDE questions (see the header).
constexpr double kCoverWeight = 2.0;      // the description's words the definition has
constexpr double kPrecisionWeight = 0.5;  // the definition's words the description has
constexpr double kRankOffset = 5.0;       // 1 / (rank + offset) for the retrieval order

}  // namespace

Result<std::vector<DefinitionMatcher::Word>> DefinitionMatcher::content_words(
    const std::string& text) const {
  ATELIER_ASSIGN_OR_RETURN(auto a, analyzer_.analyze(text, "en", /*with_sentences=*/false));
  std::vector<Word> out;
  bool negated = false;  // until the next content word ("without a brim")
  for (auto& t : a.tokens) {
    if (t.type != text::TokenType::word) continue;
    if (t.normalized == "without" || t.normalized == "no" || t.normalized == "not" ||
        t.normalized == "lacking") {
      negated = true;
      continue;
    }
    if (t.stopword || t.normalized.size() < 2) continue;
    // A negated word matches only a negated word, and never by likeness:
    // "a chair without arms" is no answer to "which chair has arms".
    if (negated)
      out.push_back({"!" + t.stem, ""});
    else
      out.push_back({std::move(t.stem), std::move(t.normalized)});
    negated = false;
  }
  return out;
}

double DefinitionMatcher::idf(const std::string& stem) const {
  const auto it = df_.find(stem);
  const double df = it == df_.end() ? 0 : it->second;
  return std::log(1 + passages_ / (df + 0.5));
}

Result<std::unique_ptr<DefinitionMatcher>> DefinitionMatcher::build(
    const std::vector<Passage>& passages, const text::Analyzer& analyzer,
    const engines::TextEmbedder& embedder, const WorkContext& work) {
  auto m = std::make_unique<DefinitionMatcher>(Passkey{}, analyzer, embedder);
  std::unordered_map<std::string, int> index;  // word -> row
  std::vector<std::string> forms;
  for (const auto& p : passages) {
    ATELIER_ASSIGN_OR_RETURN(auto words, m->content_words(p.text));
    Entry e;
    std::set<std::string> stems;
    std::set<int> rows;
    for (auto& w : words) {
      stems.insert(w.stem);
      if (w.form.empty()) continue;  // negated: matched by stem only
      auto [it, added] = index.emplace(w.form, static_cast<int>(forms.size()));
      if (added) forms.push_back(w.form);
      rows.insert(it->second);
    }
    e.stems.assign(stems.begin(), stems.end());
    e.words.assign(rows.begin(), rows.end());
    for (const auto& s : e.stems) ++m->df_[s];
    m->entries_[p.id] = std::move(e);
  }
  m->passages_ = static_cast<double>(passages.size());
  for (auto& [id, e] : m->entries_)
    for (const auto& s : e.stems) e.weight += m->idf(s);
  for (std::size_t i = 0; i < forms.size(); i += 1000) {
    const std::vector<std::string> batch(
        forms.begin() + static_cast<std::ptrdiff_t>(i),
        forms.begin() + static_cast<std::ptrdiff_t>(std::min(forms.size(), i + 1000)));
    ATELIER_ASSIGN_OR_RETURN(auto v, embedder.embed(batch, work));
    for (auto& x : v.vectors) m->vectors_.push_back(std::move(x));
  }
  if (m->vectors_.size() != forms.size())
    return Status::internal("the text model embedded " + std::to_string(m->vectors_.size()) +
                            " of " + std::to_string(forms.size()) + " words");
  return m;
}

Result<DefinitionMatcher::Scores> DefinitionMatcher::score(const std::string& description,
                                                           const std::vector<std::string>& ranked,
                                                           const WorkContext& work) const {
  ATELIER_ASSIGN_OR_RETURN(auto all, content_words(description));
  std::vector<Word> words;  // each stem once
  for (auto& w : all)
    if (!asking_word(w.form) &&
        std::none_of(words.begin(), words.end(), [&](const Word& x) { return x.stem == w.stem; }))
      words.push_back(std::move(w));
  std::vector<std::string> forms;
  std::vector<double> weights;
  double total = 0;
  for (const auto& w : words) {
    forms.push_back(w.form.empty() ? w.stem : w.form);
    weights.push_back(idf(w.stem));
    total += weights.back();
  }
  std::vector<std::vector<float>> vectors;
  if (!forms.empty()) {
    ATELIER_ASSIGN_OR_RETURN(auto v, embedder_.embed(forms, work));
    vectors = std::move(v.vectors);
  }
  Scores out;
  for (std::size_t r = 0; r < ranked.size(); ++r) {
    double s = 1.0 / (double(r) + kRankOffset);
    const auto it = entries_.find(ranked[r]);
    if (it != entries_.end() && total > 0) {
      const Entry& e = it->second;
      double cover = 0, precision = 0;
      for (std::size_t i = 0; i < words.size(); ++i) {
        if (std::binary_search(e.stems.begin(), e.stems.end(), words[i].stem)) {
          cover += weights[i];
          precision += weights[i];
          continue;
        }
        double nearest = 0;
        if (i < vectors.size() && !words[i].form.empty())
          for (int row : e.words) nearest = std::max(nearest, dot(vectors[i], vectors_[row]));
        cover += weights[i] * nearest;
      }
      s += kCoverWeight * cover / total + kPrecisionWeight * precision / std::max(e.weight, 1e-9);
      out.best_cover = std::max(out.best_cover, cover / total);
    }
    out.score.push_back(s);
  }
  return out;
}

}  // namespace atelier::chat
