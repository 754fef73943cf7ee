#include "chat/module.h"

#include "chat/openai_engine.h"
#include "chat/routes.h"
#include "chat/service.h"

namespace atelier::chat {
namespace {

constexpr std::size_t kHistoryBudget = 4000;  // tokens of history an engine is given

// Retrieval-augmented answers over the search capability's collections, with
// the style knowledge base built from WordNet on first use and embedded with
// the server's default text model.
class ChatModule final : public Module {
 public:
  explicit ChatModule(Needs needs) : needs_(std::move(needs)) {}
  const char* name() const override { return "chat"; }
  Status start(Platform& p) override {
    if (!needs_.search || !needs_.search->service)
      return Status::internal("the chat module needs the search module first");
    search::SearchService& search = *needs_.search->service;
    // The knowledge base's name is the system's alone (issue 23).
    search.reserve(kKnowledgeCollection, "system");
    conversations_ = std::make_unique<ConversationRepository>(p.db);
    service_ = std::make_unique<ChatService>(
        search, *conversations_, p.config.embedding_model, kWordNetNouns, kHistoryBudget,
        needs_.text ? needs_.text->analyzer : nullptr, p.embedders.text(p.config.embedding_model));
    const Config& c = p.config;
    if (!c.chat_openai_base_url.empty()) {
      ATELIER_RETURN_IF_ERROR(service_->add_engine(std::make_unique<OpenAiChatEngine>(
          OpenAiChatOptions{c.chat_openai_base_url, c.chat_openai_model, c.chat_openai_api_key,
                            std::chrono::seconds(c.chat_openai_timeout_s),
                            std::chrono::seconds(c.chat_openai_idle_s),
                            std::chrono::seconds(c.chat_keepalive_s)})));
    }
    if (!p.concurrency) {
      own_streams_ = make_memory_concurrency_limiter();
      p.concurrency = own_streams_.get();
    }
    api::add_chat_routes(p.router, p.deps, *service_, p.embedders.text_models(), *p.concurrency);
    p.user_data.add(api::chat_user_data(*service_));
    return Status::ok();
  }

  // The wardrobe offers its advice once every module has started.
  Status ready(Platform&) override {
    if (WardrobeAdvisor advisor = needs_.advisor ? needs_.advisor() : nullptr)
      service_->set_wardrobe_advisor(std::move(advisor));
    return Status::ok();
  }

 private:
  const Needs needs_;
  std::unique_ptr<ConcurrencyLimiter> own_streams_;  // when the platform offers none
  std::unique_ptr<ConversationRepository> conversations_;
  std::unique_ptr<ChatService> service_;
};

}  // namespace

ModulePtr make_module(Needs needs) {
  return std::make_unique<ChatModule>(std::move(needs));
}

}  // namespace atelier::chat
