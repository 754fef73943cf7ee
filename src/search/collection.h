// Search collections and their documents, as the search capability stores them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace atelier {

// What addresses a collection from any account: "<owner>:<name>". Names
// are per owner (letters, digits, '-' and '_'), so "looks" of one owner
// never collides with, or reveals, "looks" of another; the last ':'
// separates the name from an owner id that may hold ':' itself.
inline std::string collection_ref(const std::string& owner, const std::string& name) {
  return owner + ":" + name;
}

struct Collection {
  std::int64_t id = 0;
  std::string name;   // the owner's name for it, unique per owner
  std::string owner;  // identity id of the creator: only it (or an admin) writes
  std::string model;  // embedding model of its vectors
  int dimensions = 0;
  std::int64_t created_at = 0;
  std::int64_t documents = 0;
  std::int64_t version = 0;  // bumped by every document write, in its transaction
  // "private" (the default: only the owner and admins read it; others get
  // not_found) or "public" (anyone may search it; only the owner writes).
  std::string visibility = "private";
  std::string ref;  // collection_ref(owner, name): stored, and unique, as such
};

struct DocumentRecord {
  std::string id;
  std::string text;
  std::string metadata_json = "{}";  // a JSON object
  std::vector<float> vector;
};

struct UpsertCounts {
  std::int64_t inserted = 0;
  std::int64_t updated = 0;
  std::int64_t version = 0;  // the collection's version after the write (repository only)
};

// An equality filter on one metadata field (string, number or bool value).
struct MetadataFilter {
  std::string key;
  std::string value;
};

}  // namespace atelier
