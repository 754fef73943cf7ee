// Erasure wins every race with the owner's own writes (issue 23).
//
// DELETE /v1/me erases an owner's data part by part, while requests of that
// owner that were admitted before may still be running (an upload being
// tagged, a chat turn). Without a rule, such a request wrote its row after
// the erase had passed its table, and the data outlived the account. The
// rule: erasure first marks the owner (a row in `erased_owners`, committed
// before anything is erased), and every write that adds a row for an owner
// calls require_owner_live() inside its transaction. Then each such write
// either committed before the mark (and the erase that follows removes it)
// or sees the mark and fails with unauthenticated, writing nothing.
//
// SQLite serialises write transactions (BEGIN IMMEDIATE), so reading the mark
// inside the transaction is enough. On PostgreSQL, under READ COMMITTED, a
// write could read "no mark" and commit after the erase passed, so writes
// hold a shared advisory lock on the owner for their transaction and marking
// takes it exclusively: the mark waits for the writes in flight to commit.
//
// Owners are identity ids ("user:7", "key:3"); a quota identity of the
// design studio ("gen:user:7") belongs to the owner after its prefix.
// Marks are never removed: ids are never reused (migration 14).
//
// Thread safety: free functions over the database seam.
#pragma once

#include <string>
#include <string_view>

#include "core/cancel.h"
#include "core/status.h"
#include "store/database.h"

namespace atelier::db {

// Inside a write transaction on `c`: OK while `owner` is not being erased;
// unauthenticated ("the account was deleted") once it is.
Status require_owner_live(Connection& c, std::string_view owner);

// Marks `owner` as erased (idempotent), in its own transaction; returns once
// every write for it that began earlier has committed or rolled back.
Status mark_owner_erased(Database& db, std::string_view owner, const WorkContext& work = {});

// The owner a quota identity belongs to ("gen:user:7" -> "user:7").
std::string_view owner_of_identity(std::string_view identity);

}  // namespace atelier::db
