// SearchService's ingest path: creating, listing, claiming and dropping
// collections, and adding (text or images) and removing documents.
#include "search/service.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

#include "core/ids.h"
#include "core/json.h"
#include "obs/log.h"
#include "search/service_internal.h"

namespace atelier::search {

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
Status may_write(const Collection& c, const Caller& caller) {
  if (caller.admin || (!caller.anonymous && c.owner == caller.id)) return Status::ok();
  return Status::permission_denied("collection '" + c.name + "' belongs to another caller");
}

// Checks every document before anything is written: its id, its metadata,
// and its vector's size when it brings one; `need_text_vectors` is set when
// a document brings none (its text is to be embedded).
Status check_documents(const std::string& name, const Collection& c,
                       const std::vector<IngestDocument>& docs, bool* need_text_vectors) {
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
      *need_text_vectors = true;
    else if (static_cast<int>(d.vector.size()) != c.dimensions) {
      return Status::invalid_argument("document '" + d.id + "' has a " +
                                      std::to_string(d.vector.size()) + "-d vector; collection '" +
                                      name + "' holds " + std::to_string(c.dimensions) + "-d " +
                                      c.model + " vectors");
    }
  }
  return Status::ok();
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

Result<std::vector<DocumentRecord>> SearchService::documents(const std::string& name,
                                                             const Caller& caller,
                                                             const std::string& after_id, int limit,
                                                             const WorkContext& work) {
  ATELIER_ASSIGN_OR_RETURN(auto c, collection(name, caller));
  return store_.in(work).list_documents(c.id, after_id, limit);
}

Result<DocumentRecord> SearchService::document(const std::string& name, const std::string& id,
                                               const Caller& caller, const WorkContext& work) {
  ATELIER_ASSIGN_OR_RETURN(auto c, collection(name, caller));
  return store_.in(work).get_document(c.id, id);
}

Result<std::vector<Collection>> SearchService::list(const Caller& caller) {
  ATELIER_ASSIGN_OR_RETURN(auto all, store_.list());
  std::vector<Collection> out;
  for (auto& c : all) {
    if (internal::may_read(c, caller)) out.push_back(std::move(c));
  }
  return out;
}

Status SearchService::drop(const std::string& name, const Caller& caller) {
  ATELIER_ASSIGN_OR_RETURN(auto l, load(name, caller));
  ATELIER_RETURN_IF_ERROR(may_write(l->collection, caller));
  const Collection& c = l->collection;
  if (auto r = reserved_.find(c.name);
      r != reserved_.end() && r->second == c.owner && caller.id != c.owner)
    return Status::permission_denied("the collection '" + c.name + "' is atelier's own");
  MutexLock writer(l->write_mu);
  ATELIER_RETURN_IF_ERROR(store_.remove(l->collection.id));
  {
    MutexLock lock(mu_);
    auto it = loaded_.find(c.ref);
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
  log::info("collection deleted", {{"collection", c.ref}});
  return Status::ok();
}

Status SearchService::drop_owned_by(const std::string& owner) {
  ATELIER_ASSIGN_OR_RETURN(auto all, store_.list());
  for (const auto& c : all) {
    if (c.owner == owner) ATELIER_RETURN_IF_ERROR(drop(c.ref, Caller{owner, false, false}));
  }
  return Status::ok();
}

Result<UpsertCounts> SearchService::ingest(const std::string& name,
                                           const std::vector<IngestDocument>& docs,
                                           const Caller& caller, const WorkContext& work) {
  ATELIER_ASSIGN_OR_RETURN(auto loaded, load(name, caller));
  Loaded* l = loaded.get();
  ATELIER_RETURN_IF_ERROR(may_write(l->collection, caller));
  bool need_text_vectors = false;
  ATELIER_RETURN_IF_ERROR(check_documents(name, l->collection, docs, &need_text_vectors));
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
  MutexLock writer(l->write_mu);
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

Status SearchService::remove(const std::string& name, const std::string& id, const Caller& caller) {
  ATELIER_ASSIGN_OR_RETURN(auto loaded, load(name, caller));
  Loaded* l = loaded.get();
  ATELIER_RETURN_IF_ERROR(may_write(l->collection, caller));
  ATELIER_RETURN_IF_ERROR(check_id(id, "document id"));
  MutexLock writer(l->write_mu);
  std::int64_t version = 0;
  ATELIER_RETURN_IF_ERROR(store_.delete_document(l->collection.id, id, &version));
  follow(*l, version);
  forget(l, *index_of(l), id);
  return maybe_rebuild(l);
}

}  // namespace atelier::search
