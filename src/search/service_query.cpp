// SearchService's query path: BM25 and vector search of a collection, fused
// by reciprocal rank fusion (hybrid), search by image, and the query's terms
// and highlighted snippets.
#include "search/service.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "search/fusion.h"

namespace atelier::search {

bool parse_mode(std::string_view s, Mode* out) {
  if (s == "bm25")
    *out = Mode::bm25;
  else if (s == "vector")
    *out = Mode::vector;
  else if (s == "hybrid")
    *out = Mode::hybrid;
  else
    return false;
  return true;
}

namespace {
void append_escaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
}
}  // namespace

namespace {

std::string highlight_all(const text::Analyzer& analyzer, std::string_view text,
                          const std::set<std::string>& stems, std::size_t window) {
  auto a = analyzer.analyze(std::string(text), "english", /*with_sentences=*/false);
  if (!a.is_ok() || a->tokens.empty()) return {};
  const auto& toks = a->tokens;
  auto hit = [&](std::size_t i) {
    return toks[i].type == text::TokenType::word && stems.count(toks[i].stem) > 0;
  };
  // The first window with the most query terms.
  std::size_t best = 0, best_count = 0, count = 0;
  const std::size_t w = std::min(window, toks.size());
  for (std::size_t i = 0; i < toks.size(); ++i) {
    count += hit(i) ? 1 : 0;
    if (i >= w) count -= hit(i - w) ? 1 : 0;
    if (i + 1 >= w && count > best_count) {
      best_count = count;
      best = i + 1 - w;
    }
  }
  const std::size_t end = best + w;
  std::string out;
  if (best > 0) out += "…";
  std::size_t pos = static_cast<std::size_t>(toks[best].byte_start);
  for (std::size_t i = best; i < end; ++i) {
    append_escaped(out, std::string_view(text).substr(
                            pos, static_cast<std::size_t>(toks[i].byte_start) - pos));
    const std::string_view word = std::string_view(text).substr(
        static_cast<std::size_t>(toks[i].byte_start),
        static_cast<std::size_t>(toks[i].byte_end - toks[i].byte_start));
    if (hit(i)) {
      out += "<b>";
      append_escaped(out, word);
      out += "</b>";
    } else {
      append_escaped(out, word);
    }
    pos = static_cast<std::size_t>(toks[i].byte_end);
  }
  if (end < toks.size()) out += "…";
  return out;
}

bool word_byte(unsigned char c) {
  return std::isalnum(c) || c >= 0x80;
}

}  // namespace

std::string highlight(const text::Analyzer& analyzer, const std::string& text,
                      const std::set<std::string>& stems, std::size_t window) {
  // Analysing a whole long document costs more than the search that found
  // it; a byte scan for the stems' first letters finds the dense region, and
  // only that region is analysed. Short texts are analysed whole.
  constexpr std::size_t kLong = 1200, kRegion = 480, kSpan = 360;
  if (text.size() <= kLong || stems.empty()) return highlight_all(analyzer, text, stems, window);
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::vector<std::size_t> hits;
  for (const auto& stem : stems) {
    const std::string probe = stem.substr(0, std::min<std::size_t>(stem.size(), 4));
    if (probe.empty()) continue;
    for (std::size_t at = lower.find(probe); at != std::string::npos;
         at = lower.find(probe, at + 1)) {
      if (at == 0 || !word_byte(static_cast<unsigned char>(lower[at - 1]))) hits.push_back(at);
    }
  }
  std::size_t start = 0;
  if (!hits.empty()) {
    std::sort(hits.begin(), hits.end());
    std::size_t best = 0, best_count = 0, j = 0;
    for (std::size_t i = 0; i < hits.size(); ++i) {
      while (hits[j] + kSpan < hits[i]) ++j;
      if (i - j + 1 > best_count) best_count = i - j + 1, best = hits[j];
    }
    start = best > 60 ? best - 60 : 0;
    while (start > 0 && text[start - 1] != ' ' && text[start - 1] != '\n')
      --start;  // whole words, whole UTF-8
  }
  std::size_t end = std::min(text.size(), start + kRegion);
  while (end < text.size() && text[end] != ' ' && text[end] != '\n') ++end;
  std::string inner =
      highlight_all(analyzer, std::string_view(text).substr(start, end - start), stems, window);
  if (inner.empty()) return inner;
  const std::string ellipsis = "…";
  if (start > 0 && !inner.starts_with(ellipsis)) inner = ellipsis + inner;
  if (end < text.size() && !inner.ends_with(ellipsis)) inner += ellipsis;
  return inner;
}

Result<std::vector<SearchHit>> SearchService::search_by_image(
    const std::string& name, const cv::Mat& bgr, int k, const std::optional<MetadataFilter>& filter,
    const Caller& caller, const WorkContext& work, std::string* model) {
  ATELIER_ASSIGN_OR_RETURN(engines::ImageEncoder * encoder, image_encoder_for(name, caller));
  ATELIER_ASSIGN_OR_RETURN(auto feats, encoder->encode({bgr}, work));
  if (model) *model = encoder->model();
  SearchRequest r;
  r.mode = Mode::vector;
  r.k = k;
  r.filter = filter;
  r.vector = std::move(feats[0].embedding);
  return search(name, r, caller, work);
}

std::vector<std::string> SearchService::text_terms(const std::string& text) const {
  auto a = analyzer_.analyze(text, "english");
  if (!a.is_ok()) return {};
  std::vector<std::string> content, stop;
  std::set<std::string> seen;
  for (const auto& t : a->tokens) {
    if (t.type != text::TokenType::word && t.type != text::TokenType::number) continue;
    if (!seen.insert(t.normalized).second) continue;
    (t.stopword ? stop : content).push_back(t.normalized);
  }
  const auto& words = content.empty() ? stop : content;
  std::vector<std::string> terms;
  for (std::size_t i = 0; i < words.size() && i < 32; ++i) {
    for (auto& term : bm25_terms(words[i])) terms.push_back(std::move(term));
  }
  return terms;
}

std::set<std::string> SearchService::query_stems(const std::string& text) const {
  std::set<std::string> out;
  auto a = analyzer_.analyze(text, "english");
  if (!a.is_ok()) return out;
  for (const auto& t : a->tokens) {
    if (t.type == text::TokenType::word && !t.stopword) out.insert(t.stem);
  }
  return out;
}

Result<std::vector<SearchHit>> SearchService::search(const std::string& name,
                                                     const SearchRequest& req, const Caller& caller,
                                                     const WorkContext& work) {
  ATELIER_ASSIGN_OR_RETURN(auto loaded, load(name, caller));
  Loaded* l = loaded.get();
  const int candidates = std::max(req.k, fusion_.candidates);
  // A metadata filter applies to both sides, on the scalar fields held in memory.
  std::function<bool(const std::string&)> keep;
  std::unordered_map<std::string, std::map<std::string, std::string>> snapshot;
  if (req.filter) {
    MutexLock lock(mu_);
    snapshot = l->metadata;
    keep = [&](const std::string& id) {
      auto it = snapshot.find(id);
      if (it == snapshot.end()) return false;
      auto f = it->second.find(req.filter->key);
      return f != it->second.end() && f->second == req.filter->value;
    };
  }
  std::vector<Bm25Hit> text_hits;
  std::vector<VectorHit> vector_hits;
  if (req.mode != Mode::vector) {
    const auto terms = text_terms(req.query);
    if (!terms.empty()) text_hits = l->text->search(terms, candidates, keep);
  }
  ATELIER_RETURN_IF_ERROR(work.check());
  if (req.mode != Mode::bm25) {
    engines::Embeddings q;
    if (!req.vector.empty()) {
      if (static_cast<int>(req.vector.size()) != l->collection.dimensions) {
        return Status::invalid_argument("the query vector does not match collection '" + name +
                                        "' (" + l->collection.model + ")");
      }
      q.vectors.push_back(req.vector);
    } else {
      Status why;
      const engines::TextEmbedder* e = embedder_for(l->collection, &why);
      if (!e) return why;
      ATELIER_ASSIGN_OR_RETURN(q, e->embed({req.query}, work));
    }
    vector_hits = index_of(l)->search(q.vectors[0], candidates, keep);
  }

  std::vector<SearchHit> out;
  std::set<std::string> stems;
  std::unordered_map<std::string, const Bm25Hit*> by_text;
  std::unordered_map<std::string, const VectorHit*> by_vector;
  for (const auto& h : text_hits) by_text.emplace(h.id, &h);
  for (const auto& h : vector_hits) by_vector.emplace(h.id, &h);

  RankedSide bm25_side{{}, fusion_.bm25_weight}, vector_side{{}, fusion_.vector_weight};
  for (const auto& h : text_hits) bm25_side.ids.push_back(h.id);
  for (const auto& h : vector_hits) vector_side.ids.push_back(h.id);
  std::vector<RankedSide> sides;
  if (req.mode != Mode::vector) sides.push_back(bm25_side);
  if (req.mode != Mode::bm25) sides.push_back(vector_side);
  const auto fused = reciprocal_rank_fusion(sides, fusion_.rrf_k);
  for (const auto& f : fused) {
    if (static_cast<int>(out.size()) >= req.k) break;
    SearchHit h;
    h.id = f.id;
    if (auto it = by_text.find(f.id); it != by_text.end()) h.bm25_score = it->second->score;
    if (auto it = by_vector.find(f.id); it != by_vector.end()) h.vector_score = it->second->score;
    std::size_t side = 0;
    if (req.mode != Mode::vector) h.bm25_rank = f.ranks[side++];
    if (req.mode != Mode::bm25) h.vector_rank = f.ranks[side];
    // Single-side modes report that side's own score; hybrid the fused one.
    h.score = req.mode == Mode::bm25     ? h.bm25_score.value_or(0)
              : req.mode == Mode::vector ? h.vector_score.value_or(0)
                                         : f.score;
    if (stems.empty()) stems = query_stems(req.query);
    auto doc = store_.in(work).get_document(l->collection.id, f.id);
    if (doc.is_ok()) {
      h.snippet = highlight(analyzer_, doc->text, stems);
      h.text = std::move(doc->text);
      h.metadata_json = std::move(doc->metadata_json);
    }
    out.push_back(std::move(h));
  }
  return out;
}

}  // namespace atelier::search
