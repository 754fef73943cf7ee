#include "store/migrations.h"

namespace atelier {

const std::vector<db::Migration>& schema_migrations() {
  static const std::vector<db::Migration> kAll = {
      {1, "identity and usage", R"SQL(
CREATE TABLE users (
  id {{identity}},
  email TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  tier TEXT NOT NULL,
  role TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE api_keys (
  id {{identity}},
  user_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  tier TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
CREATE INDEX api_keys_user ON api_keys(user_id);
CREATE TABLE usage_daily (
  identity TEXT NOT NULL,
  day TEXT NOT NULL,
  units BIGINT NOT NULL DEFAULT 0,
  requests BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (identity, day)
);
)SQL"},
      // Until migration 7 SQLite also kept an FTS5 table of the documents
      // here; 7 drops it, so a fresh database no longer makes it.
      {2, "search collections", R"SQL(
CREATE TABLE collections (
  id {{identity}},
  name TEXT NOT NULL UNIQUE,
  owner TEXT NOT NULL,
  model TEXT NOT NULL,
  dimensions INTEGER NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE documents (
  id {{identity}},
  collection_id BIGINT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
  doc_id TEXT NOT NULL,
  text TEXT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}',
  vector {{bytes}},
  UNIQUE (collection_id, doc_id)
);
)SQL"},
      {3, "collection versions", R"SQL(
ALTER TABLE collections ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
)SQL"},
      {4, "design studio", R"SQL(
CREATE TABLE rooms (
  id {{key}} PRIMARY KEY,
  owner TEXT NOT NULL,
  name TEXT NOT NULL,
  room_type TEXT NOT NULL,
  blob TEXT NOT NULL,
  content_type TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX rooms_owner ON rooms(owner, created_at);
CREATE TABLE designs (
  id {{key}} PRIMARY KEY,
  owner TEXT NOT NULL,
  room_id TEXT,
  input_blob TEXT NOT NULL,
  input_type TEXT NOT NULL,
  style TEXT NOT NULL,
  room_type TEXT NOT NULL,
  extra_prompt TEXT NOT NULL,
  prompt TEXT NOT NULL,
  negative_prompt TEXT NOT NULL,
  preset_version TEXT NOT NULL,
  strength {{double}} NOT NULL,
  seed BIGINT NOT NULL,
  engine TEXT NOT NULL,
  status TEXT NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  output_blob TEXT,
  output_type TEXT,
  control_blob TEXT,
  cost {{double}} NOT NULL DEFAULT 0,
  quota_day TEXT NOT NULL,
  idempotency_key TEXT,
  attempts INTEGER NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT,
  engine_detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX designs_owner_room ON designs(owner, room_id);
CREATE INDEX designs_created ON designs(created_at);
CREATE INDEX designs_status ON designs(status);
CREATE UNIQUE INDEX designs_idempotency ON designs(owner, idempotency_key);
)SQL"},
      {5, "design control thresholds", R"SQL(
ALTER TABLE designs ADD COLUMN canny_low INTEGER;
ALTER TABLE designs ADD COLUMN canny_high INTEGER;
)SQL"},
      {6, "privacy and idempotency", R"SQL(
ALTER TABLE collections ADD COLUMN visibility TEXT NOT NULL DEFAULT 'private';
ALTER TABLE users ADD COLUMN tokens_valid_after BIGINT NOT NULL DEFAULT 0;
ALTER TABLE designs ADD COLUMN request_hash TEXT NOT NULL DEFAULT '';
)SQL"},
      {7, "full-text index leaves the database", R"SQL(
DROP TABLE IF EXISTS documents_fts;
)SQL"},
      {8, "wardrobe", R"SQL(
CREATE TABLE wardrobe_items (
  id {{key}} PRIMARY KEY,
  owner TEXT NOT NULL,
  name TEXT NOT NULL,
  brand TEXT NOT NULL,
  notes TEXT NOT NULL,
  blob TEXT NOT NULL,
  content_type TEXT NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  category TEXT NOT NULL,
  type TEXT NOT NULL,
  color_family TEXT NOT NULL,
  season TEXT NOT NULL,
  auto_tags TEXT NOT NULL,
  user_tags TEXT NOT NULL,
  embedding {{bytes}},
  embedding_model TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX wardrobe_items_owner ON wardrobe_items(owner, created_at);
CREATE INDEX wardrobe_items_blob ON wardrobe_items(blob);
)SQL"},
      {9, "wardrobe feedback", R"SQL(
CREATE TABLE wardrobe_feedback (
  id {{key}} PRIMARY KEY,
  owner TEXT NOT NULL,
  event TEXT NOT NULL,
  item_ids TEXT NOT NULL,
  context TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX wardrobe_feedback_owner ON wardrobe_feedback(owner, created_at);
)SQL"},
      {10, "wardrobe tag embeddings", R"SQL(
ALTER TABLE wardrobe_items ADD COLUMN tag_embedding {{bytes}};
ALTER TABLE wardrobe_items ADD COLUMN tag_embedding_model TEXT NOT NULL DEFAULT '';
CREATE INDEX wardrobe_items_version ON wardrobe_items(owner, updated_at);
)SQL"},
      {11, "chat conversations", R"SQL(
CREATE TABLE chat_conversations (
  id {{key}} PRIMARY KEY,
  owner TEXT NOT NULL,
  title TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX chat_conversations_owner ON chat_conversations(owner, updated_at);
CREATE TABLE chat_messages (
  conversation_id {{key}} NOT NULL,
  seq INTEGER NOT NULL,
  owner TEXT NOT NULL,
  role TEXT NOT NULL,
  content TEXT NOT NULL,
  sources TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (conversation_id, seq)
);
CREATE INDEX chat_messages_owner ON chat_messages(owner);
)SQL"},
      // Design jobs are claimed by any replica's workers under a lease the
      // worker renews; a job whose lease ran out is taken over.
      {12, "design job leases", R"SQL(
ALTER TABLE designs ADD COLUMN lease_owner TEXT;
ALTER TABLE designs ADD COLUMN lease_until BIGINT;
)SQL"},
      // Replicas follow each other's writes by reading what changed since the
      // version their copy reflects: each row keeps the version that last
      // wrote it, each deletion a tombstone (one per id, so they stay bounded).
      {13, "document versions", R"SQL(
ALTER TABLE documents ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
CREATE INDEX documents_version ON documents(collection_id, version);
CREATE TABLE document_tombstones (
  collection_id BIGINT NOT NULL REFERENCES collections(id) ON DELETE CASCADE,
  doc_id TEXT NOT NULL,
  version BIGINT NOT NULL,
  PRIMARY KEY (collection_id, doc_id)
);
CREATE INDEX document_tombstones_version ON document_tombstones(collection_id, version);
)SQL"},
      // Issue 23: SQLite reuses the largest rowid after its row is deleted
      // unless the key is AUTOINCREMENT, and a deleted user's token then
      // named the next account registered. The tables whose ids a token, a
      // key or an admin route names are rebuilt with AUTOINCREMENT (children
      // first, so that dropping a parent cascades into nothing; a rename
      // carries the foreign keys along), and the user and key sequences
      // start above every id that data still names (rows an erased account
      // left behind before this fix must not pass to a new one). PostgreSQL's
      // identities never reuse.
      {14, "ids are never reused", db::Dialect::sqlite, R"SQL(
CREATE TABLE users_v14 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  email TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  tier TEXT NOT NULL,
  role TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  disabled INTEGER NOT NULL DEFAULT 0,
  tokens_valid_after BIGINT NOT NULL DEFAULT 0
);
INSERT INTO users_v14(id, email, password_hash, tier, role, created_at, disabled, tokens_valid_after)
  SELECT id, email, password_hash, tier, role, created_at, disabled, tokens_valid_after FROM users;
CREATE TABLE api_keys_v14 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  user_id BIGINT REFERENCES users_v14(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  prefix TEXT NOT NULL,
  hash TEXT NOT NULL UNIQUE,
  tier TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);
INSERT INTO api_keys_v14(id, user_id, name, prefix, hash, tier, created_at, revoked_at)
  SELECT id, user_id, name, prefix, hash, tier, created_at, revoked_at FROM api_keys;
CREATE TABLE collections_v14 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  owner TEXT NOT NULL,
  model TEXT NOT NULL,
  dimensions INTEGER NOT NULL,
  created_at BIGINT NOT NULL,
  version BIGINT NOT NULL DEFAULT 0,
  visibility TEXT NOT NULL DEFAULT 'private'
);
INSERT INTO collections_v14(id, name, owner, model, dimensions, created_at, version, visibility)
  SELECT id, name, owner, model, dimensions, created_at, version, visibility FROM collections;
CREATE TABLE documents_v14 (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  collection_id BIGINT NOT NULL REFERENCES collections_v14(id) ON DELETE CASCADE,
  doc_id TEXT NOT NULL,
  text TEXT NOT NULL,
  metadata TEXT NOT NULL DEFAULT '{}',
  vector BLOB,
  version BIGINT NOT NULL DEFAULT 0,
  UNIQUE (collection_id, doc_id)
);
INSERT INTO documents_v14(id, collection_id, doc_id, text, metadata, vector, version)
  SELECT id, collection_id, doc_id, text, metadata, vector, version FROM documents;
CREATE TABLE document_tombstones_v14 (
  collection_id BIGINT NOT NULL REFERENCES collections_v14(id) ON DELETE CASCADE,
  doc_id TEXT NOT NULL,
  version BIGINT NOT NULL,
  PRIMARY KEY (collection_id, doc_id)
);
INSERT INTO document_tombstones_v14(collection_id, doc_id, version)
  SELECT collection_id, doc_id, version FROM document_tombstones;
DROP TABLE api_keys;
DROP TABLE document_tombstones;
DROP TABLE documents;
DROP TABLE users;
DROP TABLE collections;
ALTER TABLE users_v14 RENAME TO users;
ALTER TABLE api_keys_v14 RENAME TO api_keys;
ALTER TABLE collections_v14 RENAME TO collections;
ALTER TABLE documents_v14 RENAME TO documents;
ALTER TABLE document_tombstones_v14 RENAME TO document_tombstones;
CREATE INDEX api_keys_user ON api_keys(user_id);
CREATE INDEX documents_version ON documents(collection_id, version);
CREATE INDEX document_tombstones_version ON document_tombstones(collection_id, version);
INSERT INTO sqlite_sequence(name, seq) SELECT 'users', 0
  WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'users');
INSERT INTO sqlite_sequence(name, seq) SELECT 'api_keys', 0
  WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'api_keys');
UPDATE sqlite_sequence SET seq = max(seq, (SELECT coalesce(max(n), 0) FROM (
    SELECT CAST(substr(owner, 6) AS INTEGER) AS n FROM wardrobe_items WHERE owner LIKE 'user:%'
    UNION ALL SELECT CAST(substr(owner, 6) AS INTEGER) FROM wardrobe_feedback WHERE owner LIKE 'user:%'
    UNION ALL SELECT CAST(substr(owner, 6) AS INTEGER) FROM rooms WHERE owner LIKE 'user:%'
    UNION ALL SELECT CAST(substr(owner, 6) AS INTEGER) FROM designs WHERE owner LIKE 'user:%'
    UNION ALL SELECT CAST(substr(owner, 6) AS INTEGER) FROM chat_conversations WHERE owner LIKE 'user:%'
    UNION ALL SELECT CAST(substr(owner, 6) AS INTEGER) FROM chat_messages WHERE owner LIKE 'user:%'
    UNION ALL SELECT CAST(substr(owner, 6) AS INTEGER) FROM collections WHERE owner LIKE 'user:%'
    UNION ALL SELECT CAST(substr(identity, 6) AS INTEGER) FROM usage_daily WHERE identity LIKE 'user:%'
    UNION ALL SELECT CAST(substr(identity, 10) AS INTEGER) FROM usage_daily WHERE identity LIKE 'gen:user:%')))
  WHERE name = 'users';
UPDATE sqlite_sequence SET seq = max(seq, (SELECT coalesce(max(n), 0) FROM (
    SELECT CAST(substr(owner, 5) AS INTEGER) AS n FROM wardrobe_items WHERE owner LIKE 'key:%'
    UNION ALL SELECT CAST(substr(owner, 5) AS INTEGER) FROM wardrobe_feedback WHERE owner LIKE 'key:%'
    UNION ALL SELECT CAST(substr(owner, 5) AS INTEGER) FROM rooms WHERE owner LIKE 'key:%'
    UNION ALL SELECT CAST(substr(owner, 5) AS INTEGER) FROM designs WHERE owner LIKE 'key:%'
    UNION ALL SELECT CAST(substr(owner, 5) AS INTEGER) FROM chat_conversations WHERE owner LIKE 'key:%'
    UNION ALL SELECT CAST(substr(owner, 5) AS INTEGER) FROM chat_messages WHERE owner LIKE 'key:%'
    UNION ALL SELECT CAST(substr(owner, 5) AS INTEGER) FROM collections WHERE owner LIKE 'key:%'
    UNION ALL SELECT CAST(substr(identity, 5) AS INTEGER) FROM usage_daily WHERE identity LIKE 'key:%'
    UNION ALL SELECT CAST(substr(identity, 9) AS INTEGER) FROM usage_daily WHERE identity LIKE 'gen:key:%')))
  WHERE name = 'api_keys';
)SQL"},
      // Owners whose erasure began (store/owners.h): their writes are refused.
      {15, "erased owners", R"SQL(
CREATE TABLE erased_owners (
  owner {{key}} PRIMARY KEY,
  erased_at BIGINT NOT NULL
);
)SQL"},
      // Idempotency-Key on the POSTs that create (idempotency/): status 0 while
      // the first request runs, then its answer, kept for a day.
      {16, "idempotency keys", R"SQL(
CREATE TABLE idempotency_keys (
  owner {{key}} NOT NULL,
  idem_key {{key}} NOT NULL,
  fingerprint TEXT NOT NULL,
  status INTEGER NOT NULL DEFAULT 0,
  content_type TEXT NOT NULL DEFAULT '',
  location TEXT NOT NULL DEFAULT '',
  body {{bytes}},
  created_at BIGINT NOT NULL,
  PRIMARY KEY (owner, idem_key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);
)SQL"},
      // Collection names are per owner: the unique name column holds the
      // reference "<owner>:<name>" (search/collection.h).
      {17, "collection names per owner", R"SQL(
UPDATE collections SET name = owner || ':' || name WHERE name NOT LIKE '%:%';
)SQL"},
  };
  return kAll;
}

}  // namespace atelier
