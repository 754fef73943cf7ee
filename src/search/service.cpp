// SearchService: loading a collection into memory (its vector index and
// BM25 index, read from index files or built from the store's rows), the
// choice of index kind, rebuilds, index files, and stats. The ingest path is
// in service_ingest.cpp, the query path in service_query.cpp, and following
// other replicas' writes (which load() starts) in service_follow.cpp.
#include "search/service.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <atomic>

#include "core/ids.h"
#include "core/json.h"
#include "obs/log.h"
#include "search/hnsw_index.h"
#include "search/ivf_index.h"
#include "search/service_internal.h"

namespace atelier::search {

std::map<std::string, std::string> scalar_fields(const std::string& metadata_json) {
  std::map<std::string, std::string> out;
  // Stored metadata passed check_metadata; rows written before that check
  // existed are read under the same bounds.
  json::Limits limits;
  limits.max_depth = 64;
  auto parsed = json::parse(metadata_json, limits, "metadata");
  if (!parsed.is_ok() || !parsed->is_object()) return out;
  const nlohmann::json& j = *parsed;
  for (auto& [k, v] : j.items()) {
    if (v.is_string()) {
      out[k] = v.get<std::string>();
    } else if (v.is_boolean()) {
      out[k] = v.get<bool>() ? "1" : "0";  // SQLite's json_extract gives 1/0 for booleans
    } else if (v.is_number()) {
      out[k] = v.dump();
    }
  }
  return out;
}

const engines::TextEmbedder* SearchService::embedder_for(const Collection& c, Status* why) const {
  const engines::TextEmbedder* e = embedders_.text(c.model);
  if (!e)
    *why = Status::unavailable("embedding model '" + c.model + "' of collection '" + c.name +
                               "' is not loaded");
  return e;
}

namespace {
Status no_collection(const std::string& name) {
  return Status::not_found("no collection '" + name + "'");
}
}  // namespace

Result<std::shared_ptr<SearchService::Loaded>> SearchService::load(const std::string& name,
                                                                   const Caller& caller) {
  // Names are checked at creation; anything else cannot name a collection.
  if (name.empty() || name.size() > 200 || !is_utf8(name) ||
      name.find_first_of(std::string_view("\0\r\n", 3)) != std::string::npos) {
    return no_collection(name.substr(0, 64));
  }
  const std::string ref = ref_for(name, caller);
  bool cached = false;
  {
    MutexLock lock(mu_);
    cached = loaded_.count(ref) > 0;
  }
  if (!cached) {
    // Not built yet: whoever may not read it does not get it built either
    // (that would cost the server work and tell, by its time, that it exists).
    auto row = store_.find(ref);
    if (!row.is_ok())
      return row.status().code() == Code::not_found ? no_collection(name) : row.status();
    if (!internal::may_read(*row, caller)) return no_collection(name);
  }
  ATELIER_ASSIGN_OR_RETURN(auto l, load_once(ref));
  if (auto to = behind(*l)) {
    // Another replica wrote to it: this copy reads what changed; when that
    // fails (or the collection is gone) it is rebuilt from the database.
    Status st = *to == kGone ? Status::not_found("gone") : catch_up(l.get(), *to);
    if (st.is_ok()) {
      ++caught_up_;
    } else {
      ++rebuilt_;
      {
        MutexLock lock(mu_);
        if (auto it = loaded_.find(ref); it != loaded_.end() && it->second == l) loaded_.erase(it);
      }
      ATELIER_ASSIGN_OR_RETURN(l, load_once(ref));
    }
  }
  if (!internal::may_read(l->collection, caller)) return no_collection(name);
  return l;
}

std::string SearchService::ref_for(const std::string& name, const Caller& caller) const {
  if (name.find(':') != std::string::npos) return name;  // already a reference
  if (auto r = reserved_.find(name); r != reserved_.end()) return collection_ref(r->second, name);
  return collection_ref(caller.id, name);
}

Result<std::shared_ptr<SearchService::Loaded>> SearchService::load_once(const std::string& ref) {
  std::shared_ptr<Mutex> gate;
  {
    MutexLock lock(mu_);
    auto it = loaded_.find(ref);
    if (it != loaded_.end()) return it->second;
    auto& g = loading_[ref];
    if (!g) g = std::make_shared<Mutex>();
    gate = g;
  }
  // Concurrent first searches after a restart wait here for the one build.
  MutexLock building(*gate);
  {
    MutexLock lock(mu_);
    auto it = loaded_.find(ref);
    if (it != loaded_.end()) return it->second;
  }
  auto built = build_loaded(ref);
  MutexLock lock(mu_);
  if (auto g = loading_.find(ref); g != loading_.end() && g->second == gate) loading_.erase(g);
  if (!built.is_ok()) return built.status();
  auto [it, fresh] = loaded_.emplace(ref, std::move(built).value());
  return it->second;
}

Result<std::shared_ptr<SearchService::Loaded>> SearchService::build_loaded(const std::string& ref) {
  ATELIER_ASSIGN_OR_RETURN(const Collection c, store_.find(ref));
  auto l = std::make_shared<Loaded>();
  // No other thread sees `l` before loaded_ holds it; its writer lock is
  // taken so that the saved versions are set as everywhere else.
  MutexLock writer(l->write_mu);
  l->collection = c;
  l->version = c.version;
  l->checked_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now().time_since_epoch())
          .count();
  const std::string kind = kind_for(static_cast<std::size_t>(c.documents));
  // Index files whose version is the database's are used; whatever is
  // missing is built from one scan of the rows.
  auto saved = load_saved(c, kind);
  auto saved_text = load_text(c);
  std::unique_ptr<Bm25Index> fresh_text;
  if (!saved_text.is_ok()) fresh_text = std::make_unique<Bm25Index>();
  Rows rows;
  Status st = store_.scan_documents(c.id, [&](const DocumentRecord& d) {
    auto fields = scalar_fields(d.metadata_json);
    if (!fields.empty()) l->metadata[d.id] = std::move(fields);
    if (!saved.is_ok() && !d.vector.empty() && static_cast<int>(d.vector.size()) == c.dimensions) {
      rows.ids.push_back(d.id);
      rows.data.insert(rows.data.end(), d.vector.begin(), d.vector.end());
    }
    if (fresh_text) fresh_text->upsert(d.id, d.text);
  });
  if (st.is_ok() && saved.is_ok()) {
    l->index = std::move(saved).value();
    l->saved_version = c.version;
    log::info("vector index loaded from file",
              {{"collection", c.ref}, {"index", kind}, {"version", c.version}});
  } else if (st.is_ok()) {
    auto built = make_index(c, rows);
    if (built.is_ok()) {
      l->index = std::move(built).value();
      // c.version was read before the scan: if a write slipped in between, the
      // file records an older version than it holds and is merely rebuilt later.
      if (save(c, *l->index, c.version).is_ok()) l->saved_version = c.version;
    } else {
      st = built.status();
    }
  }
  if (st.is_ok() && saved_text.is_ok()) {
    l->text = std::move(saved_text).value();
    l->text_saved_version = c.version;
  } else if (st.is_ok()) {
    l->text = std::move(fresh_text);
    if (save_text(c, *l->text, c.version).is_ok()) l->text_saved_version = c.version;
  }
  if (!st.is_ok()) return st;
  return l;
}

std::shared_ptr<VectorIndex> SearchService::index_of(Loaded* l) {
  MutexLock lock(mu_);
  return l->index;
}

std::string SearchService::kind_for(std::size_t n) const {
  if (n > fusion_.ivf_min) return "ivf";
  if (n > fusion_.flat_max) return "hnsw";
  return "flat";
}

Result<std::unique_ptr<VectorIndex>> SearchService::build_index(const Collection& c) {
  Rows rows;
  ATELIER_RETURN_IF_ERROR(store_.scan_documents(c.id, [&](const DocumentRecord& d) {
    if (!d.vector.empty() && static_cast<int>(d.vector.size()) == c.dimensions) {
      rows.ids.push_back(d.id);
      rows.data.insert(rows.data.end(), d.vector.begin(), d.vector.end());
    }
  }));
  return make_index(c, rows);
}

Result<std::unique_ptr<VectorIndex>> SearchService::make_index(const Collection& c, const Rows& r) {
  const std::vector<std::string>& ids = r.ids;
  const std::vector<float>& rows = r.data;
  const std::string kind = kind_for(ids.size());
  std::unique_ptr<VectorIndex> index;
  if (kind == "ivf") {
    // Train on an evenly spaced sample: enough for the centroids, far cheaper than all.
    const std::size_t n = ids.size(), dim = static_cast<std::size_t>(c.dimensions);
    const std::size_t sample = std::min<std::size_t>(n, 131072);
    std::vector<float> train;
    train.reserve(sample * dim);
    for (std::size_t i = 0; i < sample; ++i) {
      const std::size_t row = i * n / sample;
      train.insert(train.end(), rows.begin() + long(row * dim),
                   rows.begin() + long((row + 1) * dim));
    }
    ATELIER_ASSIGN_OR_RETURN(index, make_ivf_index(c.dimensions, train, {0, fusion_.ivf_nprobe}));
  } else if (kind == "hnsw") {
    index = make_hnsw_index(c.dimensions);
  } else {
    index = std::make_unique<FlatIndex>(c.dimensions);
  }
  std::vector<float> v(static_cast<std::size_t>(c.dimensions));
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::copy(rows.begin() + long(i * v.size()), rows.begin() + long((i + 1) * v.size()),
              v.begin());
    ATELIER_RETURN_IF_ERROR(index->upsert(ids[i], v));
  }
  if (kind != "flat") {
    log::info("vector index built",
              {{"collection", c.ref}, {"index", kind}, {"vectors", ids.size()}});
  }
  return index;
}

Status SearchService::maybe_rebuild(Loaded* l) {
  auto index = index_of(l);
  const std::size_t n = index->size();
  // IVF stays once built (shrinking back below ivf_min does not warrant a rebuild).
  const bool outgrown =
      kind_for(n) != index->kind() && !(index->kind() == "ivf" && n > fusion_.flat_max);
  const bool tombstones = index->deleted() > std::max<std::size_t>(64, n / 5);
  if (!outgrown && !tombstones) return Status::ok();
  ATELIER_ASSIGN_OR_RETURN(Collection now,
                           store_.find(l->collection.ref));  // writers are held off
  ATELIER_ASSIGN_OR_RETURN(auto fresh, build_index(l->collection));
  if (save(now, *fresh, now.version).is_ok()) l->saved_version = now.version;
  MutexLock lock(mu_);
  l->index = std::move(fresh);
  return Status::ok();
}

namespace {
namespace fs = std::filesystem;
fs::path index_path(const std::string& dir, const Collection& c, const std::string& kind) {
  return fs::path(dir) / ("collection-" + std::to_string(c.id) + "." + kind);
}
}  // namespace

Result<std::unique_ptr<VectorIndex>> SearchService::load_saved(const Collection& c,
                                                               const std::string& kind) {
  if (fusion_.index_dir.empty() || kind == "flat") return Status::not_found("not cached");
  const fs::path file = index_path(fusion_.index_dir, c, kind);
  std::ifstream in(file.string() + ".meta.json");
  if (!in) return Status::not_found("no index file");
  auto meta = nlohmann::json::parse(in, nullptr, false);
  if (meta.is_discarded() || meta.value("version", std::int64_t(-1)) != c.version ||
      meta.value("kind", "") != kind || meta.value("dimensions", 0) != c.dimensions ||
      !meta.contains("ids") || !meta["ids"].is_array()) {
    return Status::not_found("index file is stale");
  }
  auto ids = meta["ids"].get<std::vector<std::string>>();
  Result<std::unique_ptr<VectorIndex>> idx =
      kind == "hnsw"
          ? load_hnsw_index(file.string(), c.dimensions, ids)
          : load_ivf_index(file.string(), c.dimensions, std::move(ids), fusion_.ivf_nprobe);
  if (!idx.is_ok()) {
    log::warn("index file unreadable; rebuilding",
              {{"collection", c.ref}, {"error", idx.status().message()}});
  }
  return idx;
}

Result<std::unique_ptr<Bm25Index>> SearchService::load_text(const Collection& c) {
  if (fusion_.index_dir.empty()) return Status::not_found("not cached");
  auto idx = Bm25Index::load(index_path(fusion_.index_dir, c, "bm25").string(), c.version);
  if (idx.is_ok()) {
    log::info("BM25 index loaded from file", {{"collection", c.ref}, {"version", c.version}});
  }
  return idx;
}

Status SearchService::write_file(const Collection& c, const std::string& file,
                                 const std::function<Status(const std::string&)>& write,
                                 const std::string* meta) {
  std::error_code ec;
  fs::create_directories(fusion_.index_dir, ec);
  // Unique per save: two saves of one collection (a rebuild and persist at
  // shutdown) never write the same temporary file.
  static std::atomic<std::uint64_t> seq{0};
  const std::string suffix =
      ".tmp." + std::to_string(::getpid()) + "." + std::to_string(seq.fetch_add(1));
  const std::string tmp = file + suffix;
  const std::string meta_file = file + ".meta.json";
  Status st = write(tmp);
  if (st.is_ok() && meta) {
    std::ofstream out(meta_file + suffix, std::ios::trunc);
    out << *meta;
    out.close();
    if (!out) st = Status::unavailable("cannot write " + meta_file);
  }
  {
    // Written new, then renamed: a reader sees the old pair or the new one.
    MutexLock pair(save_mu_);
    if (st.is_ok()) fs::rename(tmp, file, ec);
    if (st.is_ok() && !ec && meta) fs::rename(meta_file + suffix, meta_file, ec);
  }
  if (!st.is_ok() || ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    if (meta) fs::remove(meta_file + suffix, ignored);
    log::warn("index file not saved",
              {{"collection", c.ref}, {"error", st.is_ok() ? ec.message() : st.message()}});
    return st.is_ok() ? Status::unavailable(ec.message()) : st;
  }
  return Status::ok();
}

Status SearchService::save(const Collection& c, const VectorIndex& index, std::int64_t version) {
  if (fusion_.index_dir.empty() || index.kind() == "flat") return Status::not_found("not cached");
  std::vector<std::string> ids;
  std::string meta;
  auto write = [&](const std::string& tmp) {
    Status st = index.save(tmp, &ids);
    meta = nlohmann::json{
        {"version", version},
        {"kind", index.kind()},
        {"dimensions", c.dimensions},
        {"ids",
         ids}}.dump();
    return st;
  };
  ATELIER_RETURN_IF_ERROR(
      write_file(c, index_path(fusion_.index_dir, c, index.kind()).string(), write, &meta));
  log::info("index file saved",
            {{"collection", c.ref}, {"index", index.kind()}, {"version", version}});
  return Status::ok();
}

Status SearchService::save_text(const Collection& c, const Bm25Index& text, std::int64_t version) {
  if (fusion_.index_dir.empty()) return Status::not_found("not cached");
  return write_file(
      c, index_path(fusion_.index_dir, c, "bm25").string(),
      [&](const std::string& tmp) { return text.save(tmp, version); }, nullptr);
}

void SearchService::persist() {
  std::vector<std::shared_ptr<Loaded>> all;
  {
    MutexLock lock(mu_);
    for (auto& [name, l] : loaded_) all.push_back(l);
  }
  for (auto& l : all) {
    MutexLock writer(l->write_mu);
    auto now = store_.find(l->collection.ref);
    if (!now.is_ok()) continue;
    if (now->version != l->text_saved_version && save_text(*now, *l->text, now->version).is_ok())
      l->text_saved_version = now->version;
    auto index = index_of(l.get());
    if (index->kind() == "flat" || now->version == l->saved_version) continue;
    if (save(*now, *index, now->version).is_ok()) l->saved_version = now->version;
  }
}

std::size_t SearchService::loaded_vectors() {
  MutexLock lock(mu_);
  std::size_t n = 0;
  for (auto& [name, l] : loaded_) n += l->index->size();
  return n;
}

Result<std::vector<CollectionStats>> SearchService::stats(const Caller& caller) {
  ATELIER_ASSIGN_OR_RETURN(auto cols, list(caller));
  std::vector<CollectionStats> out;
  for (auto& c : cols) {
    CollectionStats s;
    s.collection = c;
    MutexLock lock(mu_);
    auto it = loaded_.find(c.ref);
    if (it != loaded_.end()) {
      s.loaded = true;
      s.index_kind = it->second->index->kind();
      s.vectors = it->second->index->size();
      s.memory_bytes = it->second->index->memory_bytes() + it->second->text->memory_bytes();
    } else {
      s.index_kind = "flat";
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace atelier::search
