// The storage seam. The SQLite implementation is the embedded default; a
// PostgreSQL implementation will sit behind the same interface, so nothing
// here names an SQLite type and the SQL the implementations use is portable.
//
// Thread safety: every method may be called from any thread concurrently.
// Contract: methods return not_found / already_exists for the expected
// misses and conflicts, unavailable when the database cannot be reached,
// internal for anything else; they never throw.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tier.h"

namespace atelier {

enum class Role { user = 0, admin = 1 };

struct User {
  std::int64_t id = 0;
  std::string email;
  std::string password_hash;  // argon2id encoded string
  Tier tier = Tier::authenticated;
  Role role = Role::user;
  std::int64_t created_at = 0;  // unix seconds
  bool disabled = false;
  // Tokens issued before this time (unix seconds) are refused: set when the
  // user is disabled, so sessions end at once rather than at token expiry.
  std::int64_t tokens_valid_after = 0;
};

struct ApiKey {
  std::int64_t id = 0;
  std::optional<std::int64_t> user_id;
  std::string name;
  std::string prefix;  // shown in listings; the secret is never stored
  std::string hash;    // hex SHA-256 of the whole key
  Tier tier = Tier::free;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> revoked_at;
};

// Units and requests to add to one identity's counter for one UTC day.
struct UsageDelta {
  std::string identity;
  std::string day;  // YYYY-MM-DD
  std::int64_t units = 0;
  std::int64_t requests = 0;
};

struct Usage {
  std::int64_t units = 0;
  std::int64_t requests = 0;
};

struct Collection {
  std::int64_t id = 0;
  std::string name;
  std::string owner;  // identity id of the creator: only it (or an admin) writes
  std::string model;  // embedding model of its vectors
  int dimensions = 0;
  std::int64_t created_at = 0;
  std::int64_t documents = 0;
  std::int64_t version = 0;  // bumped by every document write, in its transaction
  // "private" (the default: only the owner and admins read it; others get
  // not_found) or "public" (anyone may search it; only the owner writes).
  std::string visibility = "private";
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
};

// An equality filter on one metadata field (string, number or bool value).
struct MetadataFilter {
  std::string key;
  std::string value;
};

// Interior design studio. Ids are opaque strings ("rm_...", "ds_...");
// times are unix milliseconds; image bytes live in the blob store, rows hold
// their content hashes.
struct Room {
  std::string id, owner, name, room_type;
  std::string blob, content_type;
  int width = 0, height = 0;
  std::int64_t created_at = 0;
};

struct Design {
  std::string id, owner;
  std::optional<std::string> room_id;
  std::string input_blob, input_type;
  std::string style, room_type, extra_prompt, prompt, negative_prompt, preset_version;
  double strength = 0.75;
  std::int64_t seed = 0;
  std::string engine;
  std::string status;  // queued | running | succeeded | failed | cancelled
  std::string error;
  std::optional<std::string> output_blob, output_type, control_blob;
  double cost = 0;
  std::string quota_day;  // the UTC day its generation was charged to
  std::optional<std::string> idempotency_key;
  int attempts = 0;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> started_at, finished_at;
  std::string engine_detail;
  std::optional<std::int64_t> canny_low,
      canny_high;  // control thresholds when the caller gave them
  // SHA-256 of the request that created it (with an idempotency key): a
  // retry with the same key and another body is refused, not answered with
  // this job.
  std::string request_hash;
};

struct DesignPage {
  std::vector<Design> items;
  std::optional<std::string> next_cursor;  // pass back to continue (newest first)
};

class Store {
 public:
  virtual ~Store() = default;

  // Applies pending migrations; returns the schema version reached.
  virtual Result<int> migrate() = 0;
  virtual Result<int> schema_version() = 0;
  // Cheap round trip for readiness.
  virtual Status ping() = 0;
  virtual std::string describe() const = 0;

  virtual Result<User> create_user(const User& u) = 0;  // id and created_at are assigned
  virtual Result<User> find_user(std::int64_t id) = 0;
  virtual Result<User> find_user_by_email(const std::string& email) = 0;
  virtual Status set_user_disabled(std::int64_t id, bool disabled,
                                   std::int64_t tokens_valid_after) = 0;
  // Deletes the user, their API keys, and the usage rows of `identities`
  // (the identity ids their requests were counted under), in one transaction.
  virtual Status delete_user(std::int64_t id, const std::vector<std::string>& identities) = 0;

  virtual Result<ApiKey> create_api_key(const ApiKey& k) = 0;
  virtual Result<ApiKey> find_api_key_by_hash(const std::string& hash) = 0;
  virtual Result<std::vector<ApiKey>> list_api_keys() = 0;
  virtual Status revoke_api_key(std::int64_t id) = 0;

  // Adds all deltas in one transaction.
  virtual Status add_usage(const std::vector<UsageDelta>& deltas) = 0;
  virtual Result<Usage> get_usage(const std::string& identity, const std::string& day) = 0;

  // Search collections: the rows only; the search capability derives its
  // BM25 and vector indexes from them (the collection version says when).
  virtual Result<Collection> create_collection(const std::string& name, const std::string& owner,
                                               const std::string& model, int dimensions,
                                               const std::string& visibility) = 0;
  // Removes the collection and its documents.
  virtual Status delete_collection(std::int64_t id) = 0;
  virtual Result<Collection> find_collection(const std::string& name) = 0;
  virtual Result<std::vector<Collection>> list_collections() = 0;
  virtual Result<UpsertCounts> upsert_documents(std::int64_t collection_id,
                                                const std::vector<DocumentRecord>& docs) = 0;
  virtual Status delete_document(std::int64_t collection_id, const std::string& id) = 0;
  // Calls `f` for every document of the collection (id, text, metadata, vector).
  virtual Status scan_documents(std::int64_t collection_id,
                                const std::function<void(const DocumentRecord&)>& f) = 0;
  virtual Result<DocumentRecord> get_document(std::int64_t collection_id,
                                              const std::string& id) = 0;

  // Rooms and designs: rows are scoped by owner; another owner's id reads as not_found.
  virtual Result<Room> create_room(const Room& r) = 0;
  virtual Result<Room> find_room(const std::string& owner, const std::string& id) = 0;
  virtual Result<std::vector<Room>> list_rooms(const std::string& owner) = 0;
  virtual Status delete_room(const std::string& owner, const std::string& id) = 0;
  // already_exists when (owner, idempotency_key) is taken.
  virtual Result<Design> create_design(const Design& d) = 0;
  virtual Result<Design> find_design(const std::string& owner, const std::string& id) = 0;
  virtual Result<Design> find_design_by_key(const std::string& owner, const std::string& key) = 0;
  // Newest first; `cursor` from a previous page.
  virtual Result<DesignPage> list_designs(const std::string& owner,
                                          const std::optional<std::string>& room_id, int limit,
                                          const std::optional<std::string>& cursor) = 0;
  // Writes the fields a job changes (status, error, times, outputs, cost,
  // attempts, detail). With `only_if_status`, only when the row still has
  // that status (a cancel and a finishing worker cannot both win); returns
  // whether it wrote.
  virtual Result<bool> update_design(const Design& d,
                                     const std::optional<std::string>& only_if_status) = 0;
  virtual Result<std::vector<Design>> designs_with_status(
      const std::vector<std::string>& statuses) = 0;
  virtual Status delete_design(const std::string& owner, const std::string& id) = 0;
  // Ids of designs created before `created_before_ms` (retention).
  virtual Result<std::vector<std::pair<std::string, std::string>>> designs_before(
      std::int64_t created_before_ms) = 0;
  // Cost of succeeded designs since a time, for one owner or (empty) everyone.
  virtual Result<double> design_spend(const std::string& owner, std::int64_t since_ms) = 0;
  // Deletes every room and design of `owner`.
  virtual Status delete_design_data(const std::string& owner) = 0;
  // Every blob hash any row still references.
  virtual Result<std::vector<std::string>> referenced_blobs() = 0;
};

using StorePtr = std::unique_ptr<Store>;

}  // namespace atelier
