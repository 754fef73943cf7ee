#include "idempotency/idempotency_repository.h"

#include "store/owners.h"

namespace atelier {

namespace {

struct Entry {
  std::string fingerprint;
  StoredAnswer answer;  // status 0: still in progress
  std::int64_t created_at = 0;
};

Entry read_entry(const db::Row& r) {
  Entry e;
  e.fingerprint = r.text(0);
  e.answer.status = static_cast<int>(r.integer(1));
  e.answer.content_type = r.text(2);
  e.answer.location = r.text(3);
  e.answer.body = r.null(4) ? std::string() : r.blob(4);
  e.created_at = r.integer(5);
  return e;
}

}  // namespace

Result<KeyClaim> IdempotencyRepository::claim(const std::string& owner, const std::string& key,
                                              const std::string& fingerprint, std::int64_t now_s,
                                              std::int64_t stale_after_s) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  // The first insert wins; no transaction is needed for that.
  ATELIER_ASSIGN_OR_RETURN(
      auto inserted,
      c->execute("INSERT INTO idempotency_keys(owner, idem_key, fingerprint, status, created_at) "
                 "VALUES (?,?,?,0,?) ON CONFLICT (owner, idem_key) DO NOTHING",
                 {owner, key, fingerprint, now_s}));
  if (inserted == 1) return KeyClaim{};
  ATELIER_ASSIGN_OR_RETURN(
      auto found,
      db::first<Entry>(*c,
                       "SELECT fingerprint, status, content_type, location, body, created_at "
                       "FROM idempotency_keys WHERE owner=? AND idem_key=?",
                       {owner, key}, read_entry));
  // Released between our insert and this read: the caller may simply retry.
  if (!found) return KeyClaim{KeyClaim::in_progress, {}};
  if (found->fingerprint != fingerprint) return KeyClaim{KeyClaim::mismatch, {}};
  if (found->answer.status != 0) return KeyClaim{KeyClaim::replay, std::move(found->answer)};
  if (found->created_at >= now_s - stale_after_s) return KeyClaim{KeyClaim::in_progress, {}};
  // A claim whose request never finished (its process died): taken over,
  // by exactly one of the requests that find it stale.
  ATELIER_ASSIGN_OR_RETURN(auto taken,
                           c->execute("UPDATE idempotency_keys SET created_at=? WHERE owner=? AND "
                                      "idem_key=? AND status=0 AND created_at=?",
                                      {now_s, owner, key, found->created_at}));
  return KeyClaim{taken == 1 ? KeyClaim::claimed : KeyClaim::in_progress, {}};
}

Status IdempotencyRepository::complete(const std::string& owner, const std::string& key,
                                       const StoredAnswer& a) {
  return db_.transaction(work_, [&](db::Connection& c) -> Status {
    ATELIER_RETURN_IF_ERROR(db::require_owner_live(c, owner));
    return c
        .execute(
            "UPDATE idempotency_keys SET status=?, content_type=?, location=?, body=? "
            "WHERE owner=? AND idem_key=?",
            {a.status, a.content_type, a.location, db::Blob{a.body}, owner, key})
        .status();
  });
}

Status IdempotencyRepository::release(const std::string& owner, const std::string& key) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  return c
      ->execute("DELETE FROM idempotency_keys WHERE owner=? AND idem_key=? AND status=0",
                {owner, key})
      .status();
}

Status IdempotencyRepository::erase_owner(const std::string& owner) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  return c->execute("DELETE FROM idempotency_keys WHERE owner=?", {owner}).status();
}

Result<std::int64_t> IdempotencyRepository::purge(std::int64_t before_s) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  return c->execute("DELETE FROM idempotency_keys WHERE created_at < ?", {before_s});
}

}  // namespace atelier
