// Collections of documents searchable by BM25 (a Bm25Index per collection),
// by vector (a VectorIndex per collection) or both, fused by reciprocal rank
// fusion. The store's rows are the source of truth: both indexes are derived
// from them, cached as files with the collection version they reflect.
//
// Thread safety: all methods may be called concurrently. Writers to one
// collection go one at a time; the in-memory indexes follow each commit.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/cancel.h"
#include "core/mutex.h"
#include "engines/embedder.h"
#include "engines/image_models.h"
#include "search/bm25_index.h"
#include "search/collection_repository.h"
#include "search/vector_index.h"
#include "text/analyzer.h"

namespace atelier::search {

enum class Mode { bm25, vector, hybrid };
bool parse_mode(std::string_view s, Mode* out);

struct FusionSettings {
  double rrf_k = 60;
  double bm25_weight = 1.0;
  double vector_weight = 1.0;
  int candidates = 100;  // per side, before fusion
  // Collections up to this many vectors are searched exactly; larger ones by
  // HNSW, and above ivf_min by FAISS IVF.
  std::size_t flat_max = 20000;
  std::size_t ivf_min = 1000000;
  std::size_t ivf_nprobe = 32;
  // Where HNSW/IVF index files are cached ("" : never saved). The database
  // stays the source of truth; a file is used only when its recorded
  // collection version equals the database's.
  std::string index_dir;
  // Replicas sharing one database: a loaded collection is compared with the
  // database's version before each search at most this often (ms; 0: every
  // search, so a write through one replica is read through any other at
  // once), and rebuilt when another replica wrote. Negative: never (one
  // process owns the database, and its own writes update it in place).
  std::int64_t freshness_ms = -1;
};

struct SearchRequest {
  std::string query;
  int k = 10;
  Mode mode = Mode::hybrid;
  std::optional<MetadataFilter> filter;
  // A query vector from the collection's own model (search by image); when
  // set, the vector side uses it instead of embedding `query`.
  std::vector<float> vector = {};
};

struct SearchHit {
  std::string id;
  double score = 0;
  std::optional<int> bm25_rank;
  std::optional<double> bm25_score;
  std::optional<int> vector_rank;
  std::optional<double> vector_score;
  std::string snippet;  // the text with the query's words marked <b>...</b>
  std::string text;     // the document's text, verbatim
  std::string metadata_json = "{}";
};

struct IngestDocument {
  std::string id;
  std::string text;
  std::string metadata_json = "{}";
  // Precomputed by the caller (image collections: the image embedding); the
  // text is then stored and indexed for BM25 but not embedded.
  std::vector<float> vector = {};
};

// An item of an image collection: a decoded image (BGR) embedded by the
// collection's image model, with optional text (BM25) and metadata.
struct ImageItem {
  std::string id;
  cv::Mat bgr;
  std::string text;
  std::string metadata_json = "{}";
};

// Who is asking: readers see their own collections, public ones, and (admins)
// all; any other collection reads as not_found, as if it did not exist.
struct Caller {
  std::string id;  // identity id ("user:7", "key:3", "ip:...")
  bool admin = false;
  bool anonymous = false;
};

// Bounds on a document's metadata, checked at ingest: filters and the
// store's JSON functions walk it, so a deep or huge object would cost every
// later search of the collection.
struct MetadataLimits {
  std::size_t max_bytes = 16 * 1024;  // serialised
  int max_depth = 4;                  // the metadata object itself is depth 1
  std::size_t max_keys = 128;         // keys at every level together
};
Status check_metadata(const nlohmann::json& metadata, const MetadataLimits& limits = {});

struct CollectionStats {
  Collection collection;
  std::string index_kind;
  std::size_t vectors = 0;
  std::size_t memory_bytes = 0;
  bool loaded = false;
};

class SearchService {
 public:
  // `images`: the image embedding models image collections are encoded with.
  SearchService(CollectionRepository& store, const engines::EmbedderRegistry& embedders,
                const engines::ImageModels& images, const text::Analyzer& analyzer,
                FusionSettings fusion)
      : store_(store),
        embedders_(embedders),
        images_(images),
        analyzer_(analyzer),
        fusion_(std::move(fusion)) {}

  // A name only `owner` may create or drop, and that names `owner`'s
  // collection for every caller (a system collection such as the chat
  // knowledge base). Call before serving.
  void reserve(const std::string& name, const std::string& owner) { reserved_[name] = owner; }

  // Every `name` below is the caller's name for one of its own collections,
  // a reserved name, or a reference "<owner>:<name>" (collection_ref) to
  // another owner's (public ones, or any for an admin). Names are per owner.
  std::string ref_for(const std::string& name, const Caller& caller) const;

  // Reading: the owner, admins, and anyone for a public collection; for
  // everyone else a collection reads as not_found. Writing: the owner or an
  // admin; a reader who may not write gets permission_denied.
  // `visibility` is "private" or "public".
  Result<Collection> create(const std::string& name, const Caller& owner, const std::string& model,
                            const std::string& visibility = "private");
  // The collections `caller` may read.
  Result<std::vector<Collection>> list(const Caller& caller);
  Result<Collection> collection(const std::string& name, const Caller& caller);
  // Owner or admin: removes the collection, its documents, index and index files.
  Status drop(const std::string& name, const Caller& caller);
  // Deletes every collection `owner` owns (account deletion).
  Status drop_owned_by(const std::string& owner);
  // Ids are checked with check_id, metadata with check_metadata.
  Result<UpsertCounts> ingest(const std::string& name, const std::vector<IngestDocument>& docs,
                              const Caller& caller, const WorkContext& work);
  // Image collections: the items' images are embedded by the collection's
  // image model (invalid_argument for a collection of text vectors;
  // unavailable when the model did not load), then ingested as above.
  Result<UpsertCounts> ingest_images(const std::string& name, const std::vector<ImageItem>& items,
                                     const Caller& caller, const WorkContext& work);
  // The nearest items to `bgr` by the collection's image model; `model` is
  // set to that model's name.
  Result<std::vector<SearchHit>> search_by_image(const std::string& name, const cv::Mat& bgr, int k,
                                                 const std::optional<MetadataFilter>& filter,
                                                 const Caller& caller, const WorkContext& work,
                                                 std::string* model = nullptr);
  Status remove(const std::string& name, const std::string& id, const Caller& caller);
  // Reading a collection's documents (as search does: who may read it).
  Result<std::vector<DocumentRecord>> documents(const std::string& name, const Caller& caller,
                                                const std::string& after_id, int limit,
                                                const WorkContext& work);
  Result<DocumentRecord> document(const std::string& name, const std::string& id,
                                  const Caller& caller, const WorkContext& work);
  Result<std::vector<SearchHit>> search(const std::string& name, const SearchRequest& req,
                                        const Caller& caller, const WorkContext& work);
  Result<std::vector<CollectionStats>> stats(const Caller& caller);
  // Vectors held by the loaded indexes (no storage access: cheap for /metrics).
  std::size_t loaded_vectors();
  // How loaded copies followed other replicas' writes: by reading the changed
  // rows, or by a rebuild from every row (when the changes could not be read).
  struct FollowCounts {
    std::uint64_t caught_up = 0, rebuilt = 0;
  };
  FollowCounts follow_counts() const { return {caught_up_.load(), rebuilt_.load()}; }
  // Saves every loaded HNSW/IVF index that changed since it was last saved
  // (at shutdown; also after each rebuild). Errors are logged, not fatal.
  void persist();

  // The BM25 terms of a query: its distinct words, stop words dropped unless
  // nothing else is left, at most 32 words (so the OR stays bounded), each
  // as bm25_terms() gives it. Empty when the text has no words.
  std::vector<std::string> text_terms(const std::string& text) const;
  // Stems of the query's terms, for highlighting.
  std::set<std::string> query_stems(const std::string& text) const;

 private:
  struct Loaded {
    Collection collection;
    // Replaced whole on a rebuild: readers take a reference under mu_ and
    // keep the old index alive until their search ends. (SearchService's
    // mu_ cannot be named in an annotation here: index_of() reads it.)
    std::shared_ptr<VectorIndex> index;
    // Synchronised inside; never replaced.
    std::shared_ptr<Bm25Index> text;
    // Writers to one collection (ingest, remove, rebuild) go one at a time,
    // so a rebuild's scan of the store cannot miss a concurrent write.
    Mutex write_mu;
    std::int64_t saved_version GUARDED_BY(write_mu) = -1;  // collection version of its index file
    std::int64_t text_saved_version GUARDED_BY(write_mu) = -1;  // the same for its BM25 file
    // Scalar metadata as text, for filtering vector candidates like the store
    // does; under SearchService's mu_ (not nameable here, as for `index`).
    std::unordered_map<std::string, std::map<std::string, std::string>> metadata;
    // The collection version this copy reflects, and when (steady ms) it was
    // last compared with the database's: replicas write to one database.
    std::atomic<std::int64_t> version{-1};
    std::atomic<std::int64_t> checked_ms{0};
  };
  // The database's version when another replica has written to the
  // collection since this copy's (checked at most every
  // fusion_.freshness_ms); kGone when the collection is gone; nullopt when
  // the copy is current.
  static constexpr std::int64_t kGone = -1;
  std::optional<std::int64_t> behind(Loaded& l);
  // Applies the writes other replicas made since the copy's version, up to
  // `to`: the changed rows only, not a rebuild.
  Status catch_up(Loaded* l, std::int64_t to) EXCLUDES(l->write_mu);
  // One written document's text and scalar metadata into the loaded copy
  // (its vector is the caller's: ingest and catch-up check it differently),
  // and one deleted document out of every part. Callers hold l->write_mu.
  void keep_text_and_metadata(Loaded* l, const DocumentRecord& d) REQUIRES(l->write_mu)
      EXCLUDES(mu_);
  void forget(Loaded* l, VectorIndex& index, const std::string& id) REQUIRES(l->write_mu)
      EXCLUDES(mu_);
  // After this replica's write that left the collection at `written`.
  void follow(Loaded& l, std::int64_t written);
  // Loads (once: concurrent first callers wait for the one load) and checks
  // that `caller` may read it.
  Result<std::shared_ptr<Loaded>> load(const std::string& name, const Caller& caller);
  Result<std::shared_ptr<Loaded>> load_once(const std::string& ref);
  // The collection's indexes, from their files where these are current and
  // otherwise from one scan of its rows.
  Result<std::shared_ptr<Loaded>> build_loaded(const std::string& ref);
  std::string kind_for(std::size_t vectors) const;
  // Builds the index the collection's size calls for from the stored vectors
  // (the source of truth); fills `metadata` when given.
  std::shared_ptr<VectorIndex> index_of(Loaded* l) EXCLUDES(mu_);
  struct Rows {  // stored vectors, as a scan collects them
    std::vector<std::string> ids;
    std::vector<float> data;
  };
  Result<std::unique_ptr<VectorIndex>> build_index(const Collection& c);
  Result<std::unique_ptr<VectorIndex>> make_index(const Collection& c, const Rows& rows);
  // Rebuilds from the store when the collection outgrew its index kind, or
  // when removed ids hold more than a fifth of an HNSW graph.
  Status maybe_rebuild(Loaded* l) REQUIRES(l->write_mu);
  // Index file cache (index_dir): load when its version matches, save new ones.
  Result<std::unique_ptr<VectorIndex>> load_saved(const Collection& c, const std::string& kind);
  Result<std::unique_ptr<Bm25Index>> load_text(const Collection& c);
  Status save(const Collection& c, const VectorIndex& index, std::int64_t version);
  Status save_text(const Collection& c, const Bm25Index& text, std::int64_t version);
  // Writes `write(tmp)` to a unique temporary file and renames it (with its
  // meta file, when `meta` is set) into place.
  Status write_file(const Collection& c, const std::string& file,
                    const std::function<Status(const std::string&)>& write,
                    const std::string* meta);
  const engines::TextEmbedder* embedder_for(const Collection& c, Status* why) const;
  Result<engines::ImageEncoder*> image_encoder_for(const std::string& name, const Caller& caller);

  CollectionRepository& store_;
  const engines::EmbedderRegistry& embedders_;
  const engines::ImageModels& images_;
  const text::Analyzer& analyzer_;
  const FusionSettings fusion_;
  std::map<std::string, std::string> reserved_;  // name -> owner; set before serving
  Mutex mu_;
  // The map, not the indexes. shared_ptr: a drop may remove an entry while a
  // search still holds it.
  std::map<std::string, std::shared_ptr<Loaded>> loaded_ GUARDED_BY(mu_);
  std::atomic<std::uint64_t> caught_up_{0}, rebuilt_{0};
  // One mutex per collection being loaded, so a first load builds its index
  // once while other collections load in parallel.
  std::map<std::string, std::shared_ptr<Mutex>> loading_ GUARDED_BY(mu_);
  Mutex save_mu_;  // renames of an index file and its meta file go as a pair
};

// A passage of `text` around the densest run of query terms (matched by
// stem), query terms wrapped in <b>..</b>, everything else HTML-escaped;
// "…" marks cut ends. `window` is in tokens.
std::string highlight(const text::Analyzer& analyzer, const std::string& text,
                      const std::set<std::string>& stems, std::size_t window = 16);

// Scalar fields of a JSON object as text (strings as-is, numbers and bools
// as JSON prints them), matching how the store compares metadata.
std::map<std::string, std::string> scalar_fields(const std::string& metadata_json);

}  // namespace atelier::search
