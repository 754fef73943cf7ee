// SearchService's follow path: keeping a loaded collection current with the
// writes other replicas made to the shared database (by reading the changed
// rows; load() in service.cpp checks before each use), and with this
// replica's own writes.
#include "search/service.h"

namespace atelier::search {

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
  MutexLock writer(l->write_mu);
  const std::int64_t from = l->version.load();
  if (from >= to) return Status::ok();  // caught up meanwhile
  auto index = index_of(l);
  const int dims = l->collection.dimensions;
  Status applied = Status::ok();
  // changes() calls back on this thread, within this scope: the writer lock
  // is held (the analysis does not carry it into lambdas).
  ATELIER_RETURN_IF_ERROR(store_.changes(
      l->collection.id, from, to,
      [&](const std::string& id) {
        l->write_mu.assert_held();
        forget(l, *index, id);
      },
      [&](const DocumentRecord& d) {
        l->write_mu.assert_held();
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
  MutexLock lock(mu_);
  if (fields.empty()) {
    l->metadata.erase(d.id);
  } else {
    l->metadata[d.id] = std::move(fields);
  }
}

void SearchService::forget(Loaded* l, VectorIndex& index, const std::string& id) {
  index.remove(id);
  l->text->remove(id);
  MutexLock lock(mu_);
  l->metadata.erase(id);
}

void SearchService::follow(Loaded& l, std::int64_t written) {
  // Only this replica's write since the copy's version: the copy stays
  // current. Otherwise another replica wrote in between, and the copy keeps
  // its older version so that the next freshness check rebuilds it.
  std::int64_t expected = written - 1;
  l.version.compare_exchange_strong(expected, written);
}

}  // namespace atelier::search
