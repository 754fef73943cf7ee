// Conversations: a person's chat turns, kept per owner (another owner's
// conversation reads as not_found), and the history an engine is given within
// a token budget: the oldest turns are dropped whole, never cut mid-message.
//
// Thread safety: the repository's methods may be called from any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/page_cursor.h"
#include "store/database.h"

namespace atelier::chat {

struct Message {
  int seq = 0;       // 1, 2, ... within the conversation
  std::string role;  // system, user, assistant
  std::string content;
  std::string sources_json = "[]";  // the sources an assistant turn cited
  std::int64_t created_at = 0;      // ms since the epoch
};

struct Conversation {
  std::string id;  // "cv_..."
  std::string owner;
  std::string title;
  std::int64_t created_at = 0, updated_at = 0;
  int messages = 0;  // how many (filled by list and find)
};

// What one conversation may hold (issue 23: thirty requests stored 188 MB,
// and reading it back took gigabytes). An append past either bound is
// refused (413) and stores nothing.
inline constexpr std::int64_t kMaxConversationMessages = 1000;
inline constexpr std::int64_t kMaxConversationChars = 1'000'000;

class ConversationRepository {
 public:
  explicit ConversationRepository(db::Database& db) : db_(db) {}
  ConversationRepository in(const WorkContext& work) const {
    ConversationRepository r(db_);
    r.work_ = work;
    return r;
  }

  Status create(const Conversation& c);
  Result<Conversation> find(const std::string& owner, const std::string& id);
  // Most recently updated first, at most `limit`.
  Result<std::vector<Conversation>> list(const std::string& owner, int limit);
  // The same, a page at a time: those after `before` (keyset on updated_at,
  // id), at most `limit`, and where the next page starts.
  Result<std::vector<Conversation>> list(const std::string& owner, int limit,
                                         const std::optional<PagePosition>& before,
                                         std::optional<PagePosition>* next);
  // Its messages after `after_seq`, oldest first, at most `limit` (0: all,
  // which the bounds above keep small).
  Result<std::vector<Message>> messages(const std::string& owner, const std::string& id,
                                        int after_seq = 0, int limit = 0);
  // Appends the turns in one transaction, numbered after the last; not_found
  // when the conversation is not the owner's, payload_too_large when it
  // would pass kMaxConversationMessages or kMaxConversationChars.
  Status append(const std::string& owner, const std::string& id, std::vector<Message> turns,
                std::int64_t now_ms);
  Status remove(const std::string& owner, const std::string& id);
  Status remove_owner(const std::string& owner);

 private:
  db::Database& db_;
  WorkContext work_;
};

// The turns an engine sees: the latest ones whose estimated tokens (about
// 4 characters each, at least 1 per message) fit `budget`, oldest dropped
// first, whole; system turns are always kept. The newest turn is kept even
// when it alone is over the budget (the caller refuses that case).
std::vector<Message> history_within(const std::vector<Message>& turns, std::size_t budget);
std::size_t estimated_tokens(const std::string& text);

}  // namespace atelier::chat
