// Wardrobe items over the database seam (SQL written once for SQLite and
// PostgreSQL). Every read and write is scoped by owner: another owner's id
// reads as not_found. Tags are stored as JSON in the repository's own
// encoding; the effective category, type, colour family and seasons are also
// columns, so lists filter in SQL.
//
// Thread safety: every method may be called from any thread.
#pragma once

#include <string>
#include <vector>

#include "store/database.h"
#include "wardrobe/item.h"
#include "wardrobe/style.h"

namespace atelier::wardrobe {

class ItemRepository {
 public:
  explicit ItemRepository(db::Database& db) : db_(db) {}
  // This repository for one request (see db::Database::lease).
  ItemRepository in(const WorkContext& work) const {
    ItemRepository r(db_);
    r.work_ = work;
    return r;
  }

  Status create(const Item& item);  // already_exists for a taken id
  Result<Item> find(const std::string& owner, const std::string& id);
  // Newest first; keyset pagination on (created_at, id), stable while items are added.
  Result<ItemPage> list(const std::string& owner, const ItemFilter& filter, int limit,
                        const std::optional<PagePosition>& before);
  // Every item of the owner (embeddings included), newest first.
  Result<std::vector<Item>> all(const std::string& owner);
  // Writes the owner-editable fields, the user tags and the tag embedding
  // that follows them (auto tags and the image never change); not_found when
  // the item is not the owner's.
  Status update(const Item& item);
  Status remove(const std::string& owner, const std::string& id);
  // Deletes every item of the owner; returns the blobs they used.
  Result<std::vector<std::string>> remove_owner(const std::string& owner);
  // Whether any item (of anyone) still uses the blob.
  Result<bool> blob_in_use(const std::string& blob);
  // The owner's wardrobe version (item count, sum of update times): equal to
  // version_of(all(owner)), read without the rows.
  Result<WardrobeVersion> version(const std::string& owner);

 private:
  db::Database& db_;
  WorkContext work_;  // none: background work, bounded only by the pool wait
};

}  // namespace atelier::wardrobe
