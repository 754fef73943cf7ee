// The BM25 side of search: an inverted index per collection, owned by the
// search capability and derived from the documents table (the source of
// truth), so the databases hold only rows and there is no full-text dialect.
//
// Scoring is Okapi BM25 exactly as SQLite FTS5's bm25() computes it (k1 1.2,
// b 0.75, idf = ln((N - n + 0.5) / (n + 0.5)), floored at 1e-6), and the
// terms are FTS5's "porter unicode61 remove_diacritics 2" tokens: runs of
// letters and digits, case-folded, Latin diacritics removed, Porter-stemmed.
// So rankings match what the FTS5 index gave, on SQLite and PostgreSQL alike.
//
// Queries are OR queries answered exactly (the same top k as scoring every
// posting) with block-max WAND (Ding and Suel, SIGIR 2011): postings are
// cut into blocks of 64 that record their largest term frequency and
// shortest document; a document is scored only when the blocks it sits in
// could lift it into the current top k, and whole blocks are skipped
// otherwise.
//
// Updates append: a replaced or deleted document becomes a tombstone
// (statistics exclude it at once; its postings stay until a compaction
// rewrites the lists, when tombstones hold a fifth of them).
//
// Thread safety: search() and the accessors run concurrently with each other;
// upsert(), remove() and compaction take the index exclusively.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/mutex.h"
#include "core/status.h"

namespace atelier::search {

// FTS5-compatible terms of a text, in order, with repeats.
std::vector<std::string> bm25_terms(std::string_view text);

struct Bm25Hit {
  std::string id;
  double score = 0;  // higher is better
};

struct Bm25Params {
  double k1 = 1.2;
  double b = 0.75;
};

class Bm25Index {
 public:
  explicit Bm25Index(Bm25Params params = {}) : params_(params) {}

  // Indexes `text` under `id`, replacing what `id` held.
  void upsert(const std::string& id, std::string_view text) EXCLUDES(mu_);
  // False when `id` is not indexed.
  bool remove(const std::string& id) EXCLUDES(mu_);

  // The k best documents for the OR of `terms` (already bm25_terms; a term
  // given twice counts twice, as in FTS5), best first; ties go to the
  // document indexed first. `keep` (optional) filters candidates by id.
  std::vector<Bm25Hit> search(const std::vector<std::string>& terms, int k,
                              const std::function<bool(const std::string&)>& keep = {}) const;

  std::size_t size() const;  // live documents
  std::size_t memory_bytes() const;
  // Postings scored by searches so far: what pruning saves shows here.
  std::uint64_t scored_postings() const { return scored_.load(std::memory_order_relaxed); }

  // Written to `path` whole (the caller renames it into place); `version` is
  // the collection version the index reflects.
  Status save(const std::string& path, std::int64_t version) const;
  // not_found when the file is missing or records another version.
  static Result<std::unique_ptr<Bm25Index>> load(const std::string& path, std::int64_t version,
                                                 Bm25Params params = {});

 private:
  // No document: the end of a posting list, an ordinal dropped by compaction.
  static constexpr std::uint32_t kEnd = std::numeric_limits<std::uint32_t>::max();
  static constexpr std::size_t kBlock = 64;
  struct Block {
    std::uint32_t last_doc = 0;
    std::uint32_t max_tf = 0;
    std::uint32_t min_len = UINT32_MAX;
  };
  struct Postings {
    std::vector<std::uint32_t> docs;  // ordinals, ascending
    std::vector<std::uint32_t> tfs;
    std::vector<Block> blocks;  // blocks[i] covers postings [i*kBlock, (i+1)*kBlock)
    std::uint32_t df = 0;       // live documents holding the term
  };
  struct Cursor;  // one term's postings, read in document order
  struct Weight;  // FTS5's per-term weight, for one search's average length
  struct Wand;    // one search's cursors, in query and in document order

  // A cursor for each of `terms` that some live document holds, in query order.
  std::vector<Cursor> open_cursors(const std::vector<std::string>& terms,
                                   const Weight& weight) const REQUIRES_SHARED(mu_);

  void add_locked(const std::string& id, std::string_view text) REQUIRES(mu_);
  void remove_locked(std::uint32_t ordinal) REQUIRES(mu_);
  void append_posting(std::uint32_t term, std::uint32_t doc, std::uint32_t tf, std::uint32_t len)
      REQUIRES(mu_);
  void rebuild_doc_terms_locked() REQUIRES(mu_);
  void maybe_compact_locked() REQUIRES(mu_);
  double idf(std::uint32_t df) const REQUIRES_SHARED(mu_);

  const Bm25Params params_;
  mutable SharedMutex mu_;
  std::unordered_map<std::string, std::uint32_t> term_ids_ GUARDED_BY(mu_);
  std::vector<std::string> terms_ GUARDED_BY(mu_);  // term id -> text
  std::vector<Postings> postings_ GUARDED_BY(mu_);  // by term id
  // Documents by ordinal (the order they were indexed in).
  std::vector<std::string> ids_ GUARDED_BY(mu_);
  std::vector<std::uint32_t> lengths_ GUARDED_BY(mu_);  // tokens, stop words included
  std::vector<char> live_ GUARDED_BY(mu_);
  // doc_terms_ range of each ordinal (size + 1).
  std::vector<std::uint64_t> term_start_ GUARDED_BY(mu_);
  std::vector<std::uint32_t> doc_terms_ GUARDED_BY(mu_);  // distinct term ids of each document
  // Live documents only.
  std::unordered_map<std::string, std::uint32_t> ordinal_of_ GUARDED_BY(mu_);
  std::uint64_t live_length_ GUARDED_BY(mu_) = 0;
  std::uint64_t postings_total_ GUARDED_BY(mu_) = 0, postings_dead_ GUARDED_BY(mu_) = 0;
  mutable std::atomic<std::uint64_t> scored_{0};
};

}  // namespace atelier::search
