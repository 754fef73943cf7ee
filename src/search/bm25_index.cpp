#include "search/bm25_index.h"

#include "search/porter.h"

#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace atelier::search {
namespace {

// A letter, digit or private-use character (FTS5 unicode61's default token
// categories L*, N*, Co); combining marks stay in the token and are removed
// with the other diacritics.
bool token_char(UChar32 c) {
  switch (u_charType(c)) {
    case U_UPPERCASE_LETTER:
    case U_LOWERCASE_LETTER:
    case U_TITLECASE_LETTER:
    case U_MODIFIER_LETTER:
    case U_OTHER_LETTER:
    case U_DECIMAL_DIGIT_NUMBER:
    case U_LETTER_NUMBER:
    case U_OTHER_NUMBER:
    case U_PRIVATE_USE_CHAR:
    case U_NON_SPACING_MARK:
    case U_COMBINING_SPACING_MARK:
    case U_ENCLOSING_MARK:
      return true;
    default:
      return false;
  }
}

// Case-folded, without diacritics (é -> e, Å -> a); marks vanish.
void append_folded(std::string& out, UChar32 c) {
  const UCharCategory cat = static_cast<UCharCategory>(u_charType(c));
  if (cat == U_NON_SPACING_MARK || cat == U_COMBINING_SPACING_MARK || cat == U_ENCLOSING_MARK)
    return;
  c = u_foldCase(c, U_FOLD_CASE_DEFAULT);
  UErrorCode st = U_ZERO_ERROR;
  const icu::Normalizer2* nfd = icu::Normalizer2::getNFDInstance(st);
  icu::UnicodeString parts;
  if (U_SUCCESS(st) && nfd->getDecomposition(c, parts) && parts.length() > 0) {
    const UChar32 base = parts.char32At(0);
    bool marks_only = true;
    for (int32_t i = U16_LENGTH(base); i < parts.length();) {
      const UChar32 m = parts.char32At(i);
      const auto mc = u_charType(m);
      if (mc != U_NON_SPACING_MARK && mc != U_COMBINING_SPACING_MARK) marks_only = false;
      i += U16_LENGTH(m);
    }
    if (marks_only) c = base;
  }
  char buf[4];
  int32_t n = 0;
  UBool bad = false;
  U8_APPEND(buf, n, 4, c, bad);
  if (!bad) out.append(buf, static_cast<std::size_t>(n));
}

void emit(std::vector<std::string>& out, std::string& token) {
  if (token.empty()) return;
  porter_stem(token);
  out.push_back(token);
  token.clear();
}

// Sums of block bounds are compared with a little slack, so that rounding
// never prunes a document whose exact score would enter.
constexpr double kSlack = 1 + 1e-9;

}  // namespace

std::vector<std::string> bm25_terms(std::string_view text) {
  std::vector<std::string> out;
  std::string token;
  const auto* s = reinterpret_cast<const std::uint8_t*>(text.data());
  const auto n = static_cast<std::int32_t>(std::min<std::size_t>(text.size(), INT32_MAX));
  for (std::int32_t i = 0; i < n;) {
    const std::uint8_t b = s[i];
    if (b < 0x80) {  // the common case, without ICU
      ++i;
      if ((b >= 'a' && b <= 'z') || (b >= '0' && b <= '9')) {
        token += static_cast<char>(b);
      } else if (b >= 'A' && b <= 'Z') {
        token += static_cast<char>(b - 'A' + 'a');
      } else {
        emit(out, token);
      }
      continue;
    }
    UChar32 c;
    U8_NEXT(s, i, n, c);
    if (c >= 0 && token_char(c)) {
      append_folded(token, c);
    } else {
      emit(out, token);
    }
  }
  emit(out, token);
  return out;
}

struct Bm25Index::Cursor {
  const Postings* p = nullptr;
  double idf = 0;
  double max_score = 0;
  std::size_t pos = 0, block = 0;

  std::uint32_t doc() const { return pos < p->docs.size() ? p->docs[pos] : kEnd; }
  std::uint32_t block_last() const {
    return block < p->blocks.size() ? p->blocks[block].last_doc : kEnd;
  }
  void next() {
    ++pos;
    block = std::max(block, pos / kBlock);
  }
  // Moves the block pointer only, to the block that would hold `target`.
  void shallow(std::uint32_t target) {
    while (block < p->blocks.size() && p->blocks[block].last_doc < target) ++block;
  }
  // To the first posting >= target.
  void next_geq(std::uint32_t target) {
    shallow(target);
    if (block >= p->blocks.size()) {
      pos = p->docs.size();
      return;
    }
    pos = std::max(pos, block * kBlock);
    const auto first = p->docs.begin() + static_cast<std::ptrdiff_t>(pos);
    const auto last = p->docs.begin() +
                      static_cast<std::ptrdiff_t>(std::min(p->docs.size(), (block + 1) * kBlock));
    pos = static_cast<std::size_t>(std::lower_bound(first, last, target) - p->docs.begin());
  }
};

double Bm25Index::idf(std::uint32_t df) const {
  const double n = static_cast<double>(ordinal_of_.size());
  const double v = std::log((n - df + 0.5) / (df + 0.5));
  return v <= 0 ? 1e-6 : v;
}

void Bm25Index::append_posting(std::uint32_t term, std::uint32_t doc, std::uint32_t tf,
                               std::uint32_t len) {
  Postings& p = postings_[term];
  if (p.docs.size() % kBlock == 0) p.blocks.push_back({});
  p.docs.push_back(doc);
  p.tfs.push_back(tf);
  Block& b = p.blocks.back();
  b.last_doc = doc;
  b.max_tf = std::max(b.max_tf, tf);
  b.min_len = std::min(b.min_len, len);
  ++postings_total_;
}

void Bm25Index::add_locked(const std::string& id, std::string_view text) {
  if (term_start_.empty()) term_start_.push_back(0);
  std::vector<std::string> terms = bm25_terms(text);
  const auto len = static_cast<std::uint32_t>(std::min<std::size_t>(terms.size(), UINT32_MAX));
  std::sort(terms.begin(), terms.end());
  const auto ord = static_cast<std::uint32_t>(ids_.size());
  ids_.push_back(id);
  lengths_.push_back(len);
  live_.push_back(1);
  for (std::size_t i = 0; i < terms.size();) {
    std::size_t j = i;
    while (j < terms.size() && terms[j] == terms[i]) ++j;
    auto [it, fresh] = term_ids_.try_emplace(terms[i], static_cast<std::uint32_t>(terms_.size()));
    if (fresh) {
      terms_.push_back(terms[i]);
      postings_.emplace_back();
    }
    append_posting(it->second, ord, static_cast<std::uint32_t>(j - i), len);
    ++postings_[it->second].df;
    doc_terms_.push_back(it->second);
    i = j;
  }
  term_start_.push_back(doc_terms_.size());
  ordinal_of_[id] = ord;
  live_length_ += len;
}

void Bm25Index::remove_locked(std::uint32_t ord) {
  live_[ord] = 0;
  ordinal_of_.erase(ids_[ord]);
  ids_[ord] = std::string();
  live_length_ -= lengths_[ord];
  for (std::uint64_t i = term_start_[ord]; i < term_start_[ord + 1]; ++i) {
    --postings_[doc_terms_[i]].df;
    ++postings_dead_;
  }
}

void Bm25Index::rebuild_doc_terms_locked() {
  std::vector<std::uint64_t> count(ids_.size() + 1, 0);
  for (const auto& p : postings_)
    for (std::uint32_t d : p.docs) ++count[d + 1];
  for (std::size_t i = 1; i < count.size(); ++i) count[i] += count[i - 1];
  term_start_ = count;
  doc_terms_.assign(count.back(), 0);
  std::vector<std::uint64_t> fill(count.begin(), count.end() - 1);
  for (std::uint32_t t = 0; t < postings_.size(); ++t)
    for (std::uint32_t d : postings_[t].docs) doc_terms_[fill[d]++] = t;
}

void Bm25Index::maybe_compact_locked() {
  if (postings_dead_ <= std::max<std::uint64_t>(4096, postings_total_ / 5)) return;
  std::vector<std::uint32_t> remap(ids_.size(), kEnd);
  std::vector<std::string> ids;
  std::vector<std::uint32_t> lengths;
  for (std::uint32_t o = 0; o < ids_.size(); ++o) {
    if (!live_[o]) continue;
    remap[o] = static_cast<std::uint32_t>(ids.size());
    ids.push_back(std::move(ids_[o]));
    lengths.push_back(lengths_[o]);
  }
  std::vector<Postings> old = std::move(postings_);
  std::vector<std::string> old_terms = std::move(terms_);
  postings_.clear();
  terms_.clear();
  term_ids_.clear();
  ids_ = std::move(ids);
  lengths_ = std::move(lengths);
  live_.assign(ids_.size(), 1);
  postings_total_ = postings_dead_ = 0;
  ordinal_of_.clear();
  for (std::uint32_t o = 0; o < ids_.size(); ++o) ordinal_of_[ids_[o]] = o;
  for (std::size_t t = 0; t < old.size(); ++t) {
    if (old[t].df == 0) continue;  // no live document holds it
    const auto id = static_cast<std::uint32_t>(terms_.size());
    term_ids_[old_terms[t]] = id;
    terms_.push_back(std::move(old_terms[t]));
    postings_.emplace_back();
    for (std::size_t i = 0; i < old[t].docs.size(); ++i) {
      const std::uint32_t o = remap[old[t].docs[i]];
      if (o != kEnd) append_posting(id, o, old[t].tfs[i], lengths_[o]);
    }
    postings_[id].df = old[t].df;
  }
  rebuild_doc_terms_locked();
}

void Bm25Index::upsert(const std::string& id, std::string_view text) {
  WriterLock lock(mu_);
  if (auto it = ordinal_of_.find(id); it != ordinal_of_.end()) remove_locked(it->second);
  add_locked(id, text);
  maybe_compact_locked();
}

bool Bm25Index::remove(const std::string& id) {
  WriterLock lock(mu_);
  auto it = ordinal_of_.find(id);
  if (it == ordinal_of_.end()) return false;
  remove_locked(it->second);
  maybe_compact_locked();
  return true;
}

std::size_t Bm25Index::size() const {
  ReaderLock lock(mu_);
  return ordinal_of_.size();
}

std::size_t Bm25Index::memory_bytes() const {
  ReaderLock lock(mu_);
  std::size_t n = postings_.capacity() * sizeof(Postings) + doc_terms_.capacity() * 4 +
                  term_start_.capacity() * 8 + lengths_.capacity() * 4 + live_.capacity() +
                  ids_.capacity() * sizeof(std::string) + ordinal_of_.size() * 48 +
                  term_ids_.size() * 48 + terms_.capacity() * sizeof(std::string);
  for (const auto& p : postings_)
    n += p.docs.capacity() * 4 + p.tfs.capacity() * 4 + p.blocks.capacity() * sizeof(Block);
  for (const auto& s : ids_) n += s.capacity() > 15 ? s.capacity() : 0;
  for (const auto& s : terms_) n += s.capacity() > 15 ? s.capacity() : 0;
  return n;
}

namespace {

// The top k so far: a min-heap on (score, then later ordinal first), so
// that among equal scores the document indexed first stays.
class TopK {
 public:
  using Entry = std::pair<double, std::uint32_t>;

  explicit TopK(std::size_t want) : want_(want) {}
  bool enters(double s) const { return heap_.size() < want_ || s > heap_.front().first; }
  void push(double score, std::uint32_t doc) {
    if (heap_.size() == want_) {
      std::pop_heap(heap_.begin(), heap_.end(), Worse());
      heap_.pop_back();
    }
    heap_.emplace_back(score, doc);
    std::push_heap(heap_.begin(), heap_.end(), Worse());
  }
  // Best first (the heap is spent).
  const std::vector<Entry>& sorted() {
    std::sort(heap_.begin(), heap_.end(), Worse());
    return heap_;
  }

 private:
  struct Worse {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.first > b.first || (a.first == b.first && a.second < b.second);
    }
  };
  const std::size_t want_;
  std::vector<Entry> heap_;
};

}  // namespace

// FTS5's per-term BM25 weight of a term frequency in a document of `len` tokens.
struct Bm25Index::Weight {
  double k1, b, avgdl;
  double operator()(double tf, double len) const {
    return tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / avgdl));
  }
};

// Block-max WAND's moves over one search's cursors: the pivot, the bounds of
// its blocks, and the cursors' advances that keep them in document order.
struct Bm25Index::Wand {
  explicit Wand(std::vector<Cursor>& query_order) : cursors(query_order), n(query_order.size()) {
    for (auto& c : query_order) order.push_back(&c);
    auto by_doc = [](const Cursor* a, const Cursor* b) { return a->doc() < b->doc(); };
    std::sort(order.begin(), order.end(), by_doc);
  }

  // Restores doc order after cursor `i` advanced (it only moves right).
  void resort(std::size_t i) {
    while (i + 1 < n && order[i]->doc() > order[i + 1]->doc()) {
      std::swap(order[i], order[i + 1]);
      ++i;
    }
  }
  // Pivot: the first cursor at which the lists' bounds could enter (n: none).
  std::size_t pivot(const TopK& top) const {
    double bound = 0;
    std::size_t at = n;
    for (std::size_t i = 0; i < n && order[i]->doc() != kEnd; ++i) {
      bound += order[i]->max_score;
      if (top.enters(bound * kSlack)) {
        at = i;
        break;
      }
    }
    return at;
  }
  // The bound of the blocks that hold pivot_doc.
  double block_bound(std::size_t pivot, std::uint32_t pivot_doc, const Weight& weight) {
    double bound = 0;
    for (std::size_t i = 0; i <= pivot; ++i) {
      Cursor* c = order[i];
      c->shallow(pivot_doc);
      if (c->block < c->p->blocks.size()) {
        const Block& blk = c->p->blocks[c->block];
        bound += c->idf * weight(blk.max_tf, blk.min_len);
      }
    }
    return bound;
  }
  // The score of `doc` (of `len` tokens), which the first cursor is on.
  double score(std::uint32_t doc, double len, const Weight& weight) const {
    // Summed in query order, so equal documents get bit-equal scores.
    double sum = 0;
    for (const Cursor& c : cursors) {
      if (c.doc() == doc) sum += c.idf * weight(c.p->tfs[c.pos], len);
    }
    return sum;
  }
  // Past the scored document: every cursor up to the pivot moves on.
  void advance(std::size_t pivot) {
    for (std::size_t i = pivot + 1; i-- > 0;) {
      order[i]->next();
      resort(i);
    }
  }
  // Bring a list that is behind up to the pivot.
  void catch_up(std::size_t pivot, std::uint32_t pivot_doc) {
    std::size_t j = pivot;
    while (order[j]->doc() == pivot_doc) --j;
    order[j]->next_geq(pivot_doc);
    resort(j);
  }
  // No document up to the end of the shortest of these blocks can
  // enter: skip past it (or to where the next list starts).
  void skip_blocks(std::size_t pivot, std::uint32_t pivot_doc) {
    std::uint32_t next = kEnd;
    for (std::size_t i = 0; i <= pivot; ++i) next = std::min(next, order[i]->block_last());
    if (next != kEnd) ++next;
    if (pivot + 1 < n && order[pivot + 1]->doc() < next) next = order[pivot + 1]->doc();
    if (next <= pivot_doc) next = pivot_doc + 1;
    std::size_t j = 0;
    for (std::size_t i = 1; i <= pivot; ++i)
      if (order[i]->max_score > order[j]->max_score) j = i;
    order[j]->next_geq(next);
    resort(j);
  }

  const std::vector<Cursor>& cursors;  // query order
  std::vector<Cursor*> order;          // document order
  const std::size_t n;
};

std::vector<Bm25Index::Cursor> Bm25Index::open_cursors(const std::vector<std::string>& terms,
                                                       const Weight& weight) const {
  std::vector<Cursor> cursors;
  for (const auto& t : terms) {
    auto it = term_ids_.find(t);
    if (it == term_ids_.end() || postings_[it->second].df == 0) continue;
    Cursor c;
    c.p = &postings_[it->second];
    c.idf = idf(c.p->df);
    for (const Block& blk : c.p->blocks)
      c.max_score = std::max(c.max_score, c.idf * weight(blk.max_tf, blk.min_len));
    cursors.push_back(c);
  }
  return cursors;
}

std::vector<Bm25Hit> Bm25Index::search(const std::vector<std::string>& terms, int k,
                                       const std::function<bool(const std::string&)>& keep) const {
  ReaderLock lock(mu_);
  if (k <= 0 || ordinal_of_.empty()) return {};
  const double avgdl =
      std::max(1e-9, static_cast<double>(live_length_) / static_cast<double>(ordinal_of_.size()));
  const Weight weight{params_.k1, params_.b, avgdl};

  std::vector<Cursor> cursors = open_cursors(terms, weight);
  if (cursors.empty()) return {};
  Wand wand(cursors);
  TopK top(static_cast<std::size_t>(k));
  std::uint64_t scored = 0;
  for (;;) {
    std::size_t pivot = wand.pivot(top);
    if (pivot == wand.n) break;
    const std::uint32_t pivot_doc = wand.order[pivot]->doc();
    while (pivot + 1 < wand.n && wand.order[pivot + 1]->doc() == pivot_doc) ++pivot;
    if (top.enters(wand.block_bound(pivot, pivot_doc, weight) * kSlack)) {
      if (wand.order[0]->doc() == pivot_doc) {
        const double score = wand.score(pivot_doc, lengths_[pivot_doc], weight);
        scored += pivot + 1;
        if (live_[pivot_doc] && top.enters(score) && (!keep || keep(ids_[pivot_doc])))
          top.push(score, pivot_doc);
        wand.advance(pivot);
      } else {
        wand.catch_up(pivot, pivot_doc);
      }
    } else {
      wand.skip_blocks(pivot, pivot_doc);
    }
  }
  scored_.fetch_add(scored, std::memory_order_relaxed);
  const auto& best = top.sorted();
  std::vector<Bm25Hit> out;
  out.reserve(best.size());
  for (const auto& [score, doc] : best) out.push_back({ids_[doc], score});
  return out;
}

}  // namespace atelier::search
