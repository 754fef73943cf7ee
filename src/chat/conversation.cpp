#include "chat/conversation.h"

#include "store/owners.h"

#include <algorithm>

namespace atelier::chat {

namespace {

Conversation read_conversation(const db::Row& r) {
  Conversation c;
  c.id = r.text(0);
  c.owner = r.text(1);
  c.title = r.text(2);
  c.created_at = r.integer(3);
  c.updated_at = r.integer(4);
  c.messages = static_cast<int>(r.integer(5));
  return c;
}

#define ATELIER_CONVERSATION_SELECT                                                                \
  "SELECT c.id, c.owner, c.title, c.created_at, c.updated_at, "                                    \
  "(SELECT count(*) FROM chat_messages m WHERE m.conversation_id = c.id) FROM chat_conversations " \
  "c "

}  // namespace

Status ConversationRepository::create(const Conversation& c) {
  return db_.transaction(work_, [&](db::Connection& l) -> Status {
    ATELIER_RETURN_IF_ERROR(db::require_owner_live(l, c.owner));
    return l
        .execute(
            "INSERT INTO chat_conversations(id, owner, title, created_at, updated_at) "
            "VALUES (?,?,?,?,?)",
            {c.id, c.owner, c.title, c.created_at, c.updated_at})
        .status();
  });
}

Result<Conversation> ConversationRepository::find(const std::string& owner, const std::string& id) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease l, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto c, db::first<Conversation>(*l, ATELIER_CONVERSATION_SELECT "WHERE c.owner=? AND c.id=?",
                                      {owner, id}, read_conversation));
  if (!c) return Status::not_found("no conversation '" + id + "'");
  return *c;
}

Result<std::vector<Conversation>> ConversationRepository::list(const std::string& owner,
                                                               int limit) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease l, db_.lease(work_));
  return db::all<Conversation>(*l,
                               ATELIER_CONVERSATION_SELECT
                               "WHERE c.owner=? ORDER BY c.updated_at DESC, c.id DESC LIMIT ?",
                               {owner, limit}, read_conversation);
}

Result<std::vector<Conversation>> ConversationRepository::list(
    const std::string& owner, int limit, const std::optional<PagePosition>& before,
    std::optional<PagePosition>* next) {
  const KeysetBound b = keyset_bound(before);
  ATELIER_ASSIGN_OR_RETURN(db::Lease l, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto found, db::all<Conversation>(*l,
                                        ATELIER_CONVERSATION_SELECT
                                        "WHERE c.owner=?1 AND (?2 IS NULL OR c.updated_at < ?2 OR "
                                        "(c.updated_at = ?2 AND c.id < ?3)) "
                                        "ORDER BY c.updated_at DESC, c.id DESC LIMIT ?4",
                                        {owner, b.ts, b.id, limit + 1}, read_conversation));
  *next = trim_page(found, limit, [](const Conversation& c) {
    return PagePosition{c.updated_at, c.id};
  });
  return found;
}

Result<std::vector<Message>> ConversationRepository::messages(const std::string& owner,
                                                              const std::string& id, int after_seq,
                                                              int limit) {
  ATELIER_RETURN_IF_ERROR(find(owner, id).status());
  ATELIER_ASSIGN_OR_RETURN(db::Lease l, db_.lease(work_));
  return db::all<Message>(*l,
                          "SELECT seq, role, content, sources, created_at FROM chat_messages "
                          "WHERE owner=? AND conversation_id=? AND seq > ? ORDER BY seq LIMIT ?",
                          {owner, id, after_seq, limit > 0 ? limit : kMaxConversationMessages + 1},
                          [](const db::Row& r) {
                            return Message{static_cast<int>(r.integer(0)), r.text(1), r.text(2),
                                           r.text(3), r.integer(4)};
                          });
}

Status ConversationRepository::append(const std::string& owner, const std::string& id,
                                      std::vector<Message> turns, std::int64_t now_ms) {
  return db_.transaction(work_, [&](db::Connection& c) -> Status {
    ATELIER_RETURN_IF_ERROR(db::require_owner_live(c, owner));
    ATELIER_ASSIGN_OR_RETURN(
        auto n, c.execute("UPDATE chat_conversations SET updated_at=? WHERE owner=? AND id=?",
                          {now_ms, owner, id}));
    if (n == 0) return Status::not_found("no conversation '" + id + "'");
    struct Held {
      std::int64_t last = 0, count = 0, chars = 0;
    };
    ATELIER_ASSIGN_OR_RETURN(
        auto held, db::first<Held>(c,
                                   "SELECT coalesce(max(seq), 0), count(*), "
                                   "coalesce(sum(length(content)), 0) FROM chat_messages WHERE "
                                   "conversation_id=?",
                                   {id}, [](const db::Row& r) {
                                     return Held{r.integer(0), r.integer(1), r.integer(2)};
                                   }));
    const Held h = held.value_or(Held{});
    std::int64_t chars = h.chars;
    for (const auto& t : turns) chars += static_cast<std::int64_t>(t.content.size());
    if (h.count + static_cast<std::int64_t>(turns.size()) > kMaxConversationMessages ||
        chars > kMaxConversationChars)
      return Status::payload_too_large(
          "the conversation is full (at most " + std::to_string(kMaxConversationMessages) +
          " messages and " + std::to_string(kMaxConversationChars) + " characters): start another");
    std::int64_t seq = h.last;
    for (auto& t : turns) {
      ATELIER_RETURN_IF_ERROR(
          c.execute("INSERT INTO chat_messages(conversation_id, seq, owner, role, content, "
                    "sources, created_at) VALUES (?,?,?,?,?,?,?)",
                    {id, ++seq, owner, t.role, t.content, t.sources_json, now_ms})
              .status());
    }
    return Status::ok();
  });
}

Status ConversationRepository::remove(const std::string& owner, const std::string& id) {
  return db_.transaction(work_, [&](db::Connection& c) -> Status {
    ATELIER_ASSIGN_OR_RETURN(
        auto n, c.execute("DELETE FROM chat_conversations WHERE owner=? AND id=?", {owner, id}));
    if (n == 0) return Status::not_found("no conversation '" + id + "'");
    return c.execute("DELETE FROM chat_messages WHERE conversation_id=?", {id}).status();
  });
}

Status ConversationRepository::remove_owner(const std::string& owner) {
  // Conversations first: an append in flight holds its conversation's row,
  // so this waits for it, and the messages it added are then deleted too.
  return db_.transaction(work_, [&](db::Connection& c) -> Status {
    ATELIER_RETURN_IF_ERROR(
        c.execute("DELETE FROM chat_conversations WHERE owner=?", {owner}).status());
    return c.execute("DELETE FROM chat_messages WHERE owner=?", {owner}).status();
  });
}

std::size_t estimated_tokens(const std::string& text) {
  return std::max<std::size_t>(1, (text.size() + 3) / 4);
}

std::vector<Message> history_within(const std::vector<Message>& turns, std::size_t budget) {
  std::size_t used = 0;
  for (const auto& t : turns)
    if (t.role == "system") used += estimated_tokens(t.content);
  std::vector<bool> keep(turns.size(), false);
  for (std::size_t i = turns.size(); i-- > 0;) {
    if (turns[i].role == "system") {
      keep[i] = true;
      continue;
    }
    const std::size_t cost = estimated_tokens(turns[i].content);
    const bool newest = i + 1 == turns.size();
    if (!newest && used + cost > budget) break;  // older turns go whole
    used += cost;
    keep[i] = true;
  }
  // System turns before the cut are kept too.
  std::vector<Message> out;
  for (std::size_t i = 0; i < turns.size(); ++i)
    if (keep[i] || turns[i].role == "system") out.push_back(turns[i]);
  return out;
}

}  // namespace atelier::chat
