#include "search/service.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>

#include <unistd.h>

#include <atomic>

#include "core/ids.h"
#include "core/json.h"
#include "obs/log.h"
#include "search/fusion.h"
#include "search/hnsw_index.h"
#include "search/ivf_index.h"

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

Result<Collection> SearchService::create(const std::string& name, const Caller& owner,
                                         const std::string& model, const std::string& visibility) {
  if (visibility != "private" && visibility != "public") {
    return Status::invalid_argument("'visibility' is private or public");
  }
  if (auto r = reserved_.find(name); r != reserved_.end() && r->second != owner.id)
    return Status::permission_denied("the collection name '" + name +
                                     "' is reserved for atelier's own use");
  if (const engines::TextEmbedder* e = embedders_.text(model)) {
    return store_.create(name, owner.id, model, e->dimensions(), visibility);
  }
  if (int dims = embedders_.image_dimensions(model); dims > 0) {
    return store_.create(name, owner.id, model, dims, visibility);
  }
  return Status::invalid_argument("no embedding model '" + model + "'");
}

namespace {
bool may_read(const Collection& c, const Caller& caller) {
  return caller.admin || c.visibility == "public" || (!caller.anonymous && c.owner == caller.id);
}
Status may_write(const Collection& c, const Caller& caller) {
  if (caller.admin || (!caller.anonymous && c.owner == caller.id)) return Status::ok();
  return Status::permission_denied("collection '" + c.name + "' belongs to another caller");
}
Status no_collection(const std::string& name) {
  return Status::not_found("no collection '" + name + "'");
}
}  // namespace

Status check_metadata(const nlohmann::json& metadata, const MetadataLimits& limits) {
  if (!metadata.is_object()) return Status::invalid_argument("'metadata' must be an object");
  std::size_t keys = 0;
  int deepest = 0;
  std::vector<std::pair<const nlohmann::json*, int>> stack{{&metadata, 1}};
  while (!stack.empty()) {
    auto [node, d] = stack.back();
    stack.pop_back();
    deepest = std::max(deepest, d);
    if (deepest > limits.max_depth) {
      return Status::invalid_argument("'metadata' is nested deeper than " +
                                      std::to_string(limits.max_depth) + " levels");
    }
    if (node->is_object()) keys += node->size();
    if (keys > limits.max_keys) {
      return Status::invalid_argument("'metadata' has more than " +
                                      std::to_string(limits.max_keys) + " keys");
    }
    for (const auto& child : *node) {
      if (child.is_structured()) stack.push_back({&child, d + 1});
    }
  }
  const std::size_t bytes = metadata.dump().size();
  if (bytes > limits.max_bytes) {
    return Status::invalid_argument("'metadata' has " + std::to_string(bytes) +
                                    " bytes; the limit is " + std::to_string(limits.max_bytes));
  }
  return Status::ok();
}

Result<Collection> SearchService::collection(const std::string& name, const Caller& caller) {
  ATELIER_ASSIGN_OR_RETURN(auto l, load(name, caller));
  return l->collection;
}

Result<std::vector<Collection>> SearchService::list(const Caller& caller) {
  ATELIER_ASSIGN_OR_RETURN(auto all, store_.list());
  std::vector<Collection> out;
  for (auto& c : all) {
    if (may_read(c, caller)) out.push_back(std::move(c));
  }
  return out;
}

Result<std::shared_ptr<SearchService::Loaded>> SearchService::load(const std::string& name,
                                                                   const Caller& caller) {
  // Names are checked at creation; anything else cannot name a collection.
  if (name.empty() || name.size() > 64 || !is_utf8(name) ||
      name.find_first_of(std::string_view("\0\r\n", 3)) != std::string::npos) {
    return no_collection(name.substr(0, 64));
  }
  ATELIER_ASSIGN_OR_RETURN(auto l, load_once(name));
  if (auto to = behind(*l)) {
    // Another replica wrote to it: this copy reads what changed; when that
    // fails (or the collection is gone) it is rebuilt from the database.
    Status st = *to == kGone ? Status::not_found("gone") : catch_up(l.get(), *to);
    if (st.is_ok()) {
      ++caught_up_;
    } else {
      ++rebuilt_;
      {
        std::lock_guard lock(mu_);
        if (auto it = loaded_.find(name); it != loaded_.end() && it->second == l) loaded_.erase(it);
      }
      ATELIER_ASSIGN_OR_RETURN(l, load_once(name));
    }
  }
  if (!may_read(l->collection, caller)) return no_collection(name);
  return l;
}

std::optional<std::int64_t> SearchService::behind(Loaded& l) {
  const auto now =
      std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now().time_since_epoch())
          .count();
  if (fusion_.freshness_ms < 0) return std::nullopt;
  if (fusion_.freshness_ms > 0) {
    std::int64_t last = l.checked_ms.load();
    if (now - last < fusion_.freshness_ms || !l.checked_ms.compare_exchange_strong(last, now))
      return std::nullopt;
  }
  auto v = store_.version(l.collection.id);
  // A database that cannot answer leaves the loaded copy in service; a
  // collection deleted elsewhere is reloaded, which reports it gone.
  if (!v.is_ok())
    return v.status().code() == Code::not_found ? std::optional<std::int64_t>(kGone) : std::nullopt;
  if (*v == l.version.load()) return std::nullopt;
  return *v;
}

Status SearchService::catch_up(Loaded* l, std::int64_t to) {
  std::lock_guard writer(l->write_mu);
  const std::int64_t from = l->version.load();
  if (from >= to) return Status::ok();  // caught up meanwhile
  auto index = index_of(l);
  const int dims = l->collection.dimensions;
  Status applied = Status::ok();
  ATELIER_RETURN_IF_ERROR(store_.changes(
      l->collection.id, from, to, [&](const std::string& id) { forget(l, *index, id); },
      [&](const DocumentRecord& d) {
        if (!d.vector.empty() && static_cast<int>(d.vector.size()) == dims && applied.is_ok())
          applied = index->upsert(d.id, d.vector);
        keep_text_and_metadata(l, d);
      }));
  ATELIER_RETURN_IF_ERROR(applied);
  l->version.store(to);
  return maybe_rebuild(l);
}

void SearchService::keep_text_and_metadata(Loaded* l, const DocumentRecord& d) {
  l->text->upsert(d.id, d.text);
  auto fields = scalar_fields(d.metadata_json);
  std::lock_guard lock(mu_);
  if (fields.empty()) {
    l->metadata.erase(d.id);
  } else {
    l->metadata[d.id] = std::move(fields);
  }
}

void SearchService::forget(Loaded* l, VectorIndex& index, const std::string& id) {
  index.remove(id);
  l->text->remove(id);
  std::lock_guard lock(mu_);
  l->metadata.erase(id);
}

Result<std::shared_ptr<SearchService::Loaded>> SearchService::load_once(const std::string& name) {
  std::shared_ptr<std::mutex> gate;
  {
    std::lock_guard lock(mu_);
    auto it = loaded_.find(name);
    if (it != loaded_.end()) return it->second;
    auto& g = loading_[name];
    if (!g) g = std::make_shared<std::mutex>();
    gate = g;
  }
  // Concurrent first searches after a restart wait here for the one build.
  std::lock_guard building(*gate);
  {
    std::lock_guard lock(mu_);
    auto it = loaded_.find(name);
    if (it != loaded_.end()) return it->second;
  }
  auto finished = [&] {
    std::lock_guard lock(mu_);
    auto it = loading_.find(name);
    if (it != loading_.end() && it->second == gate) loading_.erase(it);
  };
  auto found = store_.find(name);
  if (!found.is_ok()) {
    finished();
    return found.status();
  }
  const Collection c = *found;
  auto l = std::make_shared<Loaded>();
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
              {{"collection", c.name}, {"index", kind}, {"version", c.version}});
  } else if (st.is_ok()) {
    auto built = make_index(c, std::move(rows));
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
  if (!st.is_ok()) {
    finished();
    return st;
  }
  std::lock_guard lock(mu_);
  auto [it, fresh] = loaded_.emplace(name, std::move(l));
  auto g = loading_.find(name);
  if (g != loading_.end() && g->second == gate) loading_.erase(g);
  return it->second;
}

Status SearchService::claim_reserved(const std::string& name) {
  auto r = reserved_.find(name);
  if (r == reserved_.end()) return Status::internal("'" + name + "' is not a reserved name");
  auto found = store_.find(name);
  if (!found.is_ok())
    return found.status().code() == Code::not_found ? Status::ok() : found.status();
  if (found->owner == r->second) return Status::ok();
  const std::string aside = name + "-" + std::to_string(found->id);
  ATELIER_RETURN_IF_ERROR(store_.rename(found->id, aside));
  {
    std::lock_guard lock(mu_);
    loaded_.erase(name);
  }
  log::warn("a collection with a reserved name was renamed",
            {{"collection", name}, {"renamed_to", aside}, {"owner", found->owner}});
  return Status::ok();
}

Status SearchService::drop(const std::string& name, const Caller& caller) {
  ATELIER_ASSIGN_OR_RETURN(auto l, load(name, caller));
  ATELIER_RETURN_IF_ERROR(may_write(l->collection, caller));
  if (auto r = reserved_.find(name); r != reserved_.end() && r->second != caller.id)
    return Status::permission_denied("the collection '" + name + "' is atelier's own");
  std::lock_guard writer(l->write_mu);
  ATELIER_RETURN_IF_ERROR(store_.remove(l->collection.id));
  {
    std::lock_guard lock(mu_);
    auto it = loaded_.find(name);
    if (it != loaded_.end() && it->second == l) loaded_.erase(it);
  }
  if (!fusion_.index_dir.empty()) {
    std::error_code ec;
    for (const char* kind : {"hnsw", "ivf", "bm25"}) {
      const auto base = std::filesystem::path(fusion_.index_dir) /
                        ("collection-" + std::to_string(l->collection.id) + "." + kind);
      std::filesystem::remove(base, ec);
      std::filesystem::remove(base.string() + ".meta.json", ec);
    }
  }
  log::info("collection deleted", {{"collection", name}});
  return Status::ok();
}

Status SearchService::drop_owned_by(const std::string& owner) {
  ATELIER_ASSIGN_OR_RETURN(auto all, store_.list());
  for (const auto& c : all) {
    if (c.owner == owner) ATELIER_RETURN_IF_ERROR(drop(c.name, Caller{owner, false, false}));
  }
  return Status::ok();
}

std::shared_ptr<VectorIndex> SearchService::index_of(Loaded* l) {
  std::lock_guard lock(mu_);
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
  return make_index(c, std::move(rows));
}

Result<std::unique_ptr<VectorIndex>> SearchService::make_index(const Collection& c, Rows r) {
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
              {{"collection", c.name}, {"index", kind}, {"vectors", ids.size()}});
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
                           store_.find(l->collection.name));  // writers are held off
  ATELIER_ASSIGN_OR_RETURN(auto fresh, build_index(l->collection));
  if (save(now, *fresh, now.version).is_ok()) l->saved_version = now.version;
  std::lock_guard lock(mu_);
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
              {{"collection", c.name}, {"error", idx.status().message()}});
  }
  return idx;
}

Result<std::unique_ptr<Bm25Index>> SearchService::load_text(const Collection& c) {
  if (fusion_.index_dir.empty()) return Status::not_found("not cached");
  auto idx = Bm25Index::load(index_path(fusion_.index_dir, c, "bm25").string(), c.version);
  if (idx.is_ok()) {
    log::info("BM25 index loaded from file", {{"collection", c.name}, {"version", c.version}});
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
    std::lock_guard pair(save_mu_);
    if (st.is_ok()) fs::rename(tmp, file, ec);
    if (st.is_ok() && !ec && meta) fs::rename(meta_file + suffix, meta_file, ec);
  }
  if (!st.is_ok() || ec) {
    std::error_code ignored;
    fs::remove(tmp, ignored);
    if (meta) fs::remove(meta_file + suffix, ignored);
    log::warn("index file not saved",
              {{"collection", c.name}, {"error", st.is_ok() ? ec.message() : st.message()}});
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
            {{"collection", c.name}, {"index", index.kind()}, {"version", version}});
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
    std::lock_guard lock(mu_);
    for (auto& [name, l] : loaded_) all.push_back(l);
  }
  for (auto& l : all) {
    std::lock_guard writer(l->write_mu);
    auto now = store_.find(l->collection.name);
    if (!now.is_ok()) continue;
    if (now->version != l->text_saved_version && save_text(*now, *l->text, now->version).is_ok())
      l->text_saved_version = now->version;
    auto index = index_of(l.get());
    if (index->kind() == "flat" || now->version == l->saved_version) continue;
    if (save(*now, *index, now->version).is_ok()) l->saved_version = now->version;
  }
}

Result<UpsertCounts> SearchService::ingest(const std::string& name,
                                           const std::vector<IngestDocument>& docs,
                                           const Caller& caller, const WorkContext& work) {
  ATELIER_ASSIGN_OR_RETURN(auto loaded, load(name, caller));
  Loaded* l = loaded.get();
  ATELIER_RETURN_IF_ERROR(may_write(l->collection, caller));
  bool need_text_vectors = false;
  for (std::size_t i = 0; i < docs.size(); ++i) {
    const auto& d = docs[i];
    ATELIER_RETURN_IF_ERROR(check_id(d.id, "document " + std::to_string(i) + ": 'id'"));
    if (d.metadata_json != "{}") {
      json::Limits limits;
      limits.max_depth = MetadataLimits{}.max_depth;
      auto meta =
          json::parse(d.metadata_json, limits, "document " + std::to_string(i) + ": 'metadata'");
      if (!meta.is_ok()) return meta.status();
      Status ok = check_metadata(*meta);
      if (!ok.is_ok())
        return Status(ok.code(), "document " + std::to_string(i) + ": " + ok.message());
    }
    if (d.vector.empty())
      need_text_vectors = true;
    else if (static_cast<int>(d.vector.size()) != l->collection.dimensions) {
      return Status::invalid_argument("document '" + d.id + "' has a " +
                                      std::to_string(d.vector.size()) + "-d vector; collection '" +
                                      name + "' holds " + std::to_string(l->collection.dimensions) +
                                      "-d " + l->collection.model + " vectors");
    }
  }
  Status why;
  const engines::TextEmbedder* e = need_text_vectors ? embedder_for(l->collection, &why) : nullptr;
  if (need_text_vectors && !e) {
    if (embedders_.image_dimensions(l->collection.model) > 0) {
      return Status::invalid_argument(
          "collection '" + name + "' holds " + l->collection.model +
          " image vectors: add items with images (POST /v1/collections/" + name + "/images)");
    }
    return why;
  }
  std::lock_guard writer(l->write_mu);
  auto index = index_of(l);
  UpsertCounts total;
  constexpr std::size_t kChunk = 512;
  for (std::size_t start = 0; start < docs.size(); start += kChunk) {
    ATELIER_RETURN_IF_ERROR(work.check());
    const std::size_t end = std::min(docs.size(), start + kChunk);
    std::vector<std::string> texts;
    std::vector<std::size_t> to_embed;
    for (std::size_t i = start; i < end; ++i) {
      if (docs[i].vector.empty()) {
        texts.push_back(docs[i].text);
        to_embed.push_back(i);
      }
    }
    engines::Embeddings emb;
    if (!texts.empty()) {
      ATELIER_ASSIGN_OR_RETURN(emb, e->embed(texts, work));
    }
    std::vector<DocumentRecord> records;
    std::size_t next = 0;
    for (std::size_t i = start; i < end; ++i) {
      std::vector<float> v = docs[i].vector;
      if (v.empty()) v = std::move(emb.vectors[next++]);
      records.push_back({docs[i].id, docs[i].text, docs[i].metadata_json, std::move(v)});
    }
    ATELIER_ASSIGN_OR_RETURN(UpsertCounts counts,
                             store_.in(work).upsert_documents(l->collection.id, records));
    total.inserted += counts.inserted;
    total.updated += counts.updated;
    follow(*l, counts.version);
    for (auto& r : records) {
      ATELIER_RETURN_IF_ERROR(index->upsert(r.id, r.vector));
      keep_text_and_metadata(l, r);
    }
    if (docs.size() > kChunk) {
      log::info("ingest progress", {{"collection", name}, {"done", end}, {"total", docs.size()}});
    }
  }
  ATELIER_RETURN_IF_ERROR(maybe_rebuild(l));
  return total;
}

Result<engines::ImageEncoder*> SearchService::image_encoder_for(const std::string& name,
                                                                const Caller& caller) {
  ATELIER_ASSIGN_OR_RETURN(Collection c, collection(name, caller));
  auto e = images_.get(c.model);
  if (!e.is_ok() && e.status().code() == Code::not_found)
    return Status::invalid_argument("collection '" + name + "' holds " + c.model +
                                    " text vectors, not image vectors");
  return e;
}

Result<UpsertCounts> SearchService::ingest_images(const std::string& name,
                                                  const std::vector<ImageItem>& items,
                                                  const Caller& caller, const WorkContext& work) {
  ATELIER_ASSIGN_OR_RETURN(engines::ImageEncoder * encoder, image_encoder_for(name, caller));
  std::vector<cv::Mat> mats;
  for (const auto& item : items) mats.push_back(item.bgr);
  ATELIER_ASSIGN_OR_RETURN(auto feats, encoder->encode(mats, work));
  std::vector<IngestDocument> docs;
  for (std::size_t i = 0; i < items.size(); ++i) {
    docs.push_back(
        {items[i].id, items[i].text, items[i].metadata_json, std::move(feats[i].embedding)});
  }
  return ingest(name, docs, caller, work);
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

Status SearchService::remove(const std::string& name, const std::string& id, const Caller& caller) {
  ATELIER_ASSIGN_OR_RETURN(auto loaded, load(name, caller));
  Loaded* l = loaded.get();
  ATELIER_RETURN_IF_ERROR(may_write(l->collection, caller));
  ATELIER_RETURN_IF_ERROR(check_id(id, "document id"));
  std::lock_guard writer(l->write_mu);
  std::int64_t version = 0;
  ATELIER_RETURN_IF_ERROR(store_.delete_document(l->collection.id, id, &version));
  follow(*l, version);
  forget(l, *index_of(l), id);
  return maybe_rebuild(l);
}

void SearchService::follow(Loaded& l, std::int64_t written) {
  // Only this replica's write since the copy's version: the copy stays
  // current. Otherwise another replica wrote in between, and the copy keeps
  // its older version so that the next freshness check rebuilds it.
  std::int64_t expected = written - 1;
  l.version.compare_exchange_strong(expected, written);
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
    std::lock_guard lock(mu_);
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
    }
    out.push_back(std::move(h));
  }
  return out;
}

std::size_t SearchService::loaded_vectors() {
  std::lock_guard lock(mu_);
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
    std::lock_guard lock(mu_);
    auto it = loaded_.find(c.name);
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
