#include "search/collection_repository.h"

#include "store/owners.h"

#include <chrono>
#include <cstring>

#include "core/clock.h"

namespace atelier {
namespace {

#define ATELIER_COLLECTION_SELECT                                                        \
  "SELECT c.id, c.name, c.owner, c.model, c.dimensions, c.created_at, (SELECT COUNT(*) " \
  "FROM documents d WHERE d.collection_id = c.id), c.version, c.visibility FROM collections c"

// The name column holds the reference ("<owner>:<name>", unique); the name
// is what follows its last ':'.
Collection read_collection(const db::Row& r) {
  Collection c{r.integer(0), "",           r.text(2),    r.text(3), static_cast<int>(r.integer(4)),
               r.integer(5), r.integer(6), r.integer(7), r.text(8), r.text(1)};
  const auto colon = c.ref.rfind(':');
  c.name = colon == std::string::npos ? c.ref : c.ref.substr(colon + 1);
  return c;
}

std::vector<float> read_vector(const db::Row& r, int col) {
  std::vector<float> v;
  if (r.null(col)) return v;
  const std::string bytes = r.blob(col);
  v.resize(bytes.size() / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

// The documents table's one reader; it fills `d` in place so that a scan
// reuses its buffers.
#define ATELIER_DOCUMENT_COLUMNS "doc_id, text, metadata, vector"
void read_document(const db::Row& r, DocumentRecord* d) {
  d->id = r.text(0);
  d->text = r.text(1);
  d->metadata_json = r.text(2);
  d->vector = read_vector(r, 3);
}

db::Value vector_value(const std::vector<float>& v) {
  if (v.empty()) return db::Value::null_of(db::Value::Type::null_blob);
  return db::Blob{
      std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float))};
}

// First in every document write: the row lock orders writers (PostgreSQL);
// SQLite's BEGIN IMMEDIATE already has.
// Returns the new version.
Result<std::int64_t> bump_version(db::Connection& c, std::int64_t collection_id) {
  ATELIER_ASSIGN_OR_RETURN(
      auto v, db::first<std::int64_t>(
                  c, "UPDATE collections SET version = version + 1 WHERE id=? RETURNING version",
                  {collection_id}, [](const db::Row& r) { return r.integer(0); }));
  if (!v) return Status::not_found("no such collection");
  return *v;
}

}  // namespace

Result<Collection> CollectionRepository::create(const std::string& name, const std::string& owner,
                                                const std::string& model, int dimensions,
                                                const std::string& visibility) {
  Collection col{0,          name,
                 owner,      model,
                 dimensions, unix_seconds(),
                 0,          0,
                 visibility, collection_ref(owner, name)};
  Status st = db_.transaction(work_, [&](db::Connection& c) -> Status {
    ATELIER_RETURN_IF_ERROR(db::require_owner_live(c, owner));
    ATELIER_ASSIGN_OR_RETURN(
        auto id, db::first<std::int64_t>(
                     c,
                     "INSERT INTO collections(name, owner, model, dimensions, created_at, "
                     "visibility) VALUES (?,?,?,?,?,?) RETURNING id",
                     {col.ref, owner, model, dimensions, col.created_at, visibility},
                     [](const db::Row& r) { return r.integer(0); }));
    col.id = id.value_or(0);
    return Status::ok();
  });
  if (!st.is_ok()) {
    if (st.code() == Code::already_exists)
      return Status::already_exists("collection '" + name + "' exists");
    return st;
  }
  return col;
}

Status CollectionRepository::remove(std::int64_t id) {
  return db_.transaction(work_, [&](db::Connection& c) -> Status {
    ATELIER_RETURN_IF_ERROR(
        c.execute("DELETE FROM documents WHERE collection_id=?", {id}).status());
    return c.execute("DELETE FROM collections WHERE id=?", {id}).status();
  });
}

Result<Collection> CollectionRepository::find(const std::string& ref) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto col, db::first<Collection>(*c, ATELIER_COLLECTION_SELECT " WHERE c.name=?", {ref},
                                      read_collection));
  if (!col) return Status::not_found("no collection '" + ref + "'");
  return *col;
}

Result<std::int64_t> CollectionRepository::version(std::int64_t collection_id) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto v,
      db::first<std::int64_t>(*c, "SELECT version FROM collections WHERE id=?", {collection_id},
                              [](const db::Row& r) { return r.integer(0); }));
  if (!v) return Status::not_found("no such collection");
  return *v;
}

Result<std::vector<Collection>> CollectionRepository::list() {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  return db::all<Collection>(*c, ATELIER_COLLECTION_SELECT " ORDER BY c.name", {}, read_collection);
}

Result<UpsertCounts> CollectionRepository::upsert_documents(
    std::int64_t collection_id, const std::vector<DocumentRecord>& docs) {
  UpsertCounts counts;
  ATELIER_RETURN_IF_ERROR(db_.transaction(work_, [&](db::Connection& c) -> Status {
    counts = {};
    ATELIER_ASSIGN_OR_RETURN(counts.version, bump_version(c, collection_id));
    // New ids (the usual ingest) take one round trip: the insert that does
    // nothing on a conflict says by its returned row whether it inserted;
    // only an existing id then needs its update.
    for (const auto& d : docs) {
      ATELIER_ASSIGN_OR_RETURN(
          auto inserted,
          db::first<std::int64_t>(
              c,
              "INSERT INTO documents(text, metadata, vector, version, collection_id, doc_id) "
              "VALUES (?,?,?,?,?,?) ON CONFLICT (collection_id, doc_id) DO NOTHING RETURNING id",
              {d.text, d.metadata_json, vector_value(d.vector), counts.version, collection_id,
               d.id},
              [](const db::Row& r) { return r.integer(0); }));
      if (inserted) {
        ++counts.inserted;
        continue;
      }
      ATELIER_ASSIGN_OR_RETURN(
          auto n, c.execute("UPDATE documents SET text=?, metadata=?, vector=?, version=? WHERE "
                            "collection_id=? AND doc_id=?",
                            {d.text, d.metadata_json, vector_value(d.vector), counts.version,
                             collection_id, d.id}));
      if (n != 1) return Status::internal("document '" + d.id + "' neither inserted nor updated");
      ++counts.updated;
    }
    return Status::ok();
  }));
  return counts;
}

Status CollectionRepository::delete_document(std::int64_t collection_id, const std::string& id,
                                             std::int64_t* version) {
  return db_.transaction(work_, [&](db::Connection& c) -> Status {
    ATELIER_ASSIGN_OR_RETURN(std::int64_t v, bump_version(c, collection_id));
    if (version) *version = v;
    ATELIER_ASSIGN_OR_RETURN(
        auto n,
        c.execute("DELETE FROM documents WHERE collection_id=? AND doc_id=?", {collection_id, id}));
    // Rolled back: a delete of nothing leaves the version alone.
    if (n == 0) return Status::not_found("no document '" + id + "'");
    return c
        .execute(
            "INSERT INTO document_tombstones(collection_id, doc_id, version) VALUES (?,?,?) "
            "ON CONFLICT (collection_id, doc_id) DO UPDATE SET version = excluded.version",
            {collection_id, id, v})
        .status();
  });
}

Status CollectionRepository::scan_documents(std::int64_t collection_id,
                                            const std::function<void(const DocumentRecord&)>& f) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  DocumentRecord d;
  return c->each("SELECT " ATELIER_DOCUMENT_COLUMNS " FROM documents WHERE collection_id=?",
                 {collection_id}, [&](const db::Row& r) {
                   read_document(r, &d);
                   f(d);
                 });
}

Result<DocumentRecord> CollectionRepository::get_document(std::int64_t collection_id,
                                                          const std::string& id) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto d, db::first<DocumentRecord>(*c,
                                        "SELECT " ATELIER_DOCUMENT_COLUMNS
                                        " FROM documents WHERE collection_id=? AND doc_id=?",
                                        {collection_id, id}, [](const db::Row& r) {
                                          DocumentRecord d;
                                          read_document(r, &d);
                                          return d;
                                        }));
  if (!d) return Status::not_found("no document '" + id + "'");
  return *d;
}

Result<std::vector<DocumentRecord>> CollectionRepository::list_documents(
    std::int64_t collection_id, const std::string& after_id, int limit) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  return db::all<DocumentRecord>(*c,
                                 "SELECT " ATELIER_DOCUMENT_COLUMNS
                                 " FROM documents WHERE collection_id=? AND doc_id > ? ORDER BY "
                                 "doc_id LIMIT ?",
                                 {collection_id, after_id, limit}, [](const db::Row& r) {
                                   DocumentRecord d;
                                   read_document(r, &d);
                                   return d;
                                 });
}

Status CollectionRepository::changes(std::int64_t collection_id, std::int64_t since,
                                     std::int64_t until,
                                     const std::function<void(const std::string&)>& deleted,
                                     const std::function<void(const DocumentRecord&)>& upserted) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_RETURN_IF_ERROR(
      c->each("SELECT doc_id FROM document_tombstones WHERE collection_id=? AND version > ? AND "
              "version <= ?",
              {collection_id, since, until}, [&](const db::Row& r) { deleted(r.text(0)); }));
  DocumentRecord d;
  return c->each("SELECT " ATELIER_DOCUMENT_COLUMNS
                 " FROM documents WHERE collection_id=? AND version > ? AND version <= ?",
                 {collection_id, since, until}, [&](const db::Row& r) {
                   read_document(r, &d);
                   upserted(d);
                 });
}

}  // namespace atelier
