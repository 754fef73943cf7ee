// Retrieval-augmented answers: hybrid search (BM25 + vectors, RRF) over the
// default style knowledge base and any collections the caller names, then an
// engine composes the answer from the passages. Today's engine is the local
// composer (composer.h); hosted OpenAI-compatible and native engines plug in
// behind the same request (engine.h).
//
// The knowledge base is a public search collection, "style-glossary", owned
// by "system", built from WordNet on first use (knowledge.h) and kept in the
// database like any collection.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/composer.h"
#include "chat/conversation.h"
#include "chat/definition_match.h"
#include "chat/engine.h"
#include "chat/knowledge.h"
#include "chat/sampling.h"
#include "core/cancel.h"
#include "core/mutex.h"
#include "core/status.h"
#include "platform/wardrobe_advice.h"
#include "search/service.h"

namespace atelier::chat {

inline constexpr const char* kKnowledgeCollection = "style-glossary";

struct RagRequest {
  std::string question;
  std::vector<std::string> collections;  // besides the knowledge base; the caller's or public
  int k = 5;                             // passages retrieved per collection
  std::optional<MetadataFilter> filter;  // on the named collections' metadata
};

struct RagAnswer {
  Composed answer;
  std::vector<Retrieved> retrieved;  // everything retrieved, best first
  double retrieval_ms = 0, compose_ms = 0;
};

// One chat turn: the conversation so far (or the request's messages), the
// new turns, and the options of retrieval.
struct TurnRequest {
  std::string owner;              // identity id
  std::string conversation_id;    // "" : a stateless request
  std::vector<Message> messages;  // the request's turns (the last user turn is answered)
  std::vector<std::string> collections;
  std::string model = "local";  // "local", or an engine's model name
  // Hosted engine only: called with the sources once retrieval is done and
  // before the engine starts, then with the answer's text as it arrives
  // (returning false stops the engine: the caller went away).
  std::function<void(const std::vector<Retrieved>& sources)> on_sources;
  DeltaSink on_delta;
  std::function<void()> on_wait;  // while the engine is silent (keep-alives)
  Sampling sampling;              // OpenAI's max_tokens, stop, temperature, ...
};

struct Turn {
  std::string question;  // what was searched: the latest user turn, with context when needed
  std::string engine;    // "local" or the hosted model
  RagAnswer rag;         // local: the composed answer; hosted: the retrieval
  std::string text;      // the answer
  std::vector<Retrieved> sources;  // what the [n] markers resolve to
  bool found = false;
  std::size_t prompt_tokens = 0;  // the engine's, or estimated from the history it saw
  std::size_t completion_tokens = 0;
  std::string finish_reason = "stop";  // or "length": max_tokens cut the answer
};

class ChatService {
 public:
  // `model`: the text model the knowledge base is embedded with;
  // `wordnet_nouns`: WordNet's data.noun; `history_budget`: tokens of
  // history an engine is given (the oldest turns are dropped whole).
  // `analyzer` and `embedder` (the knowledge base's text model; either may be
  // null) rank the candidates of a question that asks for a word.
  ChatService(search::SearchService& search, ConversationRepository& conversations,
              std::string model, std::string wordnet_nouns, std::size_t history_budget = 4000,
              const text::Analyzer* analyzer = nullptr,
              const engines::TextEmbedder* embedder = nullptr)
      : search_(search),
        conversations_(conversations),
        model_(std::move(model)),
        nouns_(std::move(wordnet_nouns)),
        history_budget_(history_budget),
        analyzer_(analyzer),
        embedder_(embedder) {}

  // Answers the latest user turn; with a conversation, its stored turns are
  // the history and the new turns and the answer are appended to it.
  Result<Turn> reply(const TurnRequest& r, const search::Caller& caller, const WorkContext& work);

  // The latest user turn, preceded by the one before it when it names nothing
  // in the knowledge base or refers back ("and what about flannel?", "is it
  // warm?").
  std::string rewrite(const std::vector<Message>& history) const;

  // An engine answering as engine->model() (added before serving; a later
  // engine with the same model name is refused).
  Status add_engine(std::unique_ptr<ChatEngine> engine);
  struct ModelInfo {
    std::string name;
    std::string kind;  // "local", "openai", "native"
  };
  // The chat models served: "local" first, then each engine's.
  std::vector<ModelInfo> models() const;
  // The kind of engine behind `model`; "" when none serves it.
  std::string kind_of(const std::string& model) const;

  // Questions about the asker's own clothes go to the wardrobe (set before
  // serving).
  void set_wardrobe_advisor(WardrobeAdvisor a) { advisor_ = std::move(a); }

  Result<Conversation> create_conversation(const std::string& owner, const std::string& title,
                                           const WorkContext& work);
  ConversationRepository& conversations() { return conversations_; }

  Result<RagAnswer> rag(const RagRequest& r, const search::Caller& caller, const WorkContext& work);

  // Builds and stores the knowledge base unless this process already has
  // (the collection is upserted: unchanged passages stay as they are).
  // unavailable when WordNet or the text model is missing.
  Status ensure_knowledge(const WorkContext& work) EXCLUDES(mu_);
  std::size_t knowledge_size() const EXCLUDES(mu_);

 private:
  search::SearchService& search_;
  ConversationRepository& conversations_;
  const std::string model_, nouns_;
  const std::size_t history_budget_;
  const text::Analyzer* const analyzer_;
  const engines::TextEmbedder* const embedder_;
  WardrobeAdvisor advisor_;
  std::vector<std::unique_ptr<ChatEngine>> engines_;  // fixed once serving
  ChatEngine* engine_for(const std::string& model) const;
  // rag()'s steps. A question about the asker's own clothes, answered from
  // their wardrobe (`t`: when retrieval began).
  Result<RagAnswer> wardrobe_answer(const RagRequest& r, const search::Caller& caller,
                                    const WorkContext& work,
                                    std::chrono::steady_clock::time_point t) const;
  // The hits of the knowledge base and of the collections the request names.
  Status search_collections(const RagRequest& r, const search::Caller& caller,
                            const WorkContext& work, std::vector<Retrieved>& retrieved) const
      EXCLUDES(mu_);
  // The knowledge base's passages the question names, after the hits.
  void add_named_passages(const std::string& question, std::vector<Retrieved>& retrieved) const
      EXCLUDES(mu_);
  mutable Mutex mu_;
  bool ready_ GUARDED_BY(mu_) = false;
  std::unordered_map<std::string, Passage> passages_ GUARDED_BY(mu_);  // by id
  // A passage's title by any name it answers to (its title, its synonyms).
  std::unordered_map<std::string, std::string> title_by_name_ GUARDED_BY(mu_);
  // Built with the knowledge base when an analyzer and embedder are given.
  std::shared_ptr<const DefinitionMatcher> matcher_ GUARDED_BY(mu_);
  // Orders the knowledge base's passages among `retrieved` by how well the
  // question defines them; false when there is no matcher.
  Result<bool> rank_as_definitions(const std::string& question, std::vector<Retrieved>& retrieved,
                                   const WorkContext& work) const EXCLUDES(mu_);
  // "Which fabric is made from flax?": the knowledge base's kinds of the
  // thing the question names (two levels down), in `retrieved`'s order and
  // then the base's; empty when the question is not of that form.
  std::vector<Retrieved> kinds_asked_for(const std::string& question,
                                         const std::vector<Retrieved>& retrieved) const
      EXCLUDES(mu_);
};

}  // namespace atelier::chat
