// Search collections and their documents over the database seam: rows only
// (text, metadata, vector); the search capability derives its BM25 and
// vector indexes from them. Every document write bumps the collection's
// version in the same transaction, first, so that writers to one collection
// serialise on its row on every backend.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "search/collection.h"
#include "store/database.h"

namespace atelier {

class CollectionRepository {
 public:
  explicit CollectionRepository(db::Database& db) : db_(db) {}
  // This repository for one request: its leases honour the request's
  // deadline and cancellation (db::Database::lease). Cheap to make per call.
  CollectionRepository in(const WorkContext& work) const {
    CollectionRepository r(db_);
    r.work_ = work;
    return r;
  }

  // already_exists when `owner` has a collection of that name (another
  // owner's never counts: names are per owner).
  Result<Collection> create(const std::string& name, const std::string& owner,
                            const std::string& model, int dimensions,
                            const std::string& visibility);
  Status remove(std::int64_t id);  // with its documents
  // By reference: collection_ref(owner, name).
  Result<Collection> find(const std::string& ref);
  Result<std::vector<Collection>> list();  // by reference
  Result<UpsertCounts> upsert_documents(std::int64_t collection_id,
                                        const std::vector<DocumentRecord>& docs);
  // `version` (optional) receives the collection's version after the delete.
  Status delete_document(std::int64_t collection_id, const std::string& id,
                         std::int64_t* version = nullptr);
  // The collection's version: bumped by every document write, on any replica.
  Result<std::int64_t> version(std::int64_t collection_id);
  // Streams every document of the collection (id, text, metadata, vector).
  Status scan_documents(std::int64_t collection_id,
                        const std::function<void(const DocumentRecord&)>& f);
  Result<DocumentRecord> get_document(std::int64_t collection_id, const std::string& id);
  // A page of documents by id: at most `limit` after `after_id` ("": the first).
  Result<std::vector<DocumentRecord>> list_documents(std::int64_t collection_id,
                                                     const std::string& after_id, int limit);
  // What writes with versions in (since, until] changed: `deleted` for each
  // id deleted, then `upserted` for each document written (a document
  // deleted and written again in the range comes in both, in that order, so
  // applying them in order leaves the collection as of `until`).
  Status changes(std::int64_t collection_id, std::int64_t since, std::int64_t until,
                 const std::function<void(const std::string&)>& deleted,
                 const std::function<void(const DocumentRecord&)>& upserted);

 private:
  db::Database& db_;
  WorkContext work_;  // none: background work, bounded only by the pool wait
};

}  // namespace atelier
