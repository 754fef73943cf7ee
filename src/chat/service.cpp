#include "chat/service.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <set>

#include "core/clock.h"
#include "core/ids.h"
#include "obs/log.h"

namespace atelier::chat {

namespace {

// A question that asks for a word: the knowledge base's candidates the
// definition matcher orders, and how many of them stand as retrieved.
constexpr int kWordCandidates = 50;
constexpr std::size_t kWordAnswers = 10;
// Below this share of the description covered by the best passage, the
// matcher's order is not used (compose() falls back to its own rules).
constexpr double kLeastCover = 0.25;

const search::Caller kSystem{"system", true, false};

}  // namespace

Status ChatService::ensure_knowledge(const WorkContext& work) {
  MutexLock lock(mu_);
  if (ready_) return Status::ok();
  auto built = build_style_glossary(nouns_);
  if (!built.is_ok())
    return Status::unavailable("the style knowledge base cannot be built: " +
                               built.status().message());
  auto existing = search_.collection(kKnowledgeCollection, kSystem);
  if (!existing.is_ok()) {
    if (existing.status().code() != Code::not_found) return existing.status();
    auto made = search_.create(kKnowledgeCollection, kSystem, model_, "public");
    if (!made.is_ok() && made.status().code() != Code::already_exists) return made.status();
  }
  std::vector<search::IngestDocument> docs;
  for (const auto& p : *built) {
    nlohmann::json m = {{"title", p.title},
                        {"topic", p.topic},
                        {"hypernym", p.hypernym},
                        {"source", "WordNet 3.0"},
                        {"license", "WordNet-3.0"}};
    docs.push_back({p.id, p.text, m.dump()});
  }
  // In batches: each is one transaction and one index update.
  for (std::size_t i = 0; i < docs.size(); i += 500) {
    std::vector<search::IngestDocument> batch(
        docs.begin() + static_cast<std::ptrdiff_t>(i),
        docs.begin() + static_cast<std::ptrdiff_t>(std::min(docs.size(), i + 500)));
    ATELIER_RETURN_IF_ERROR(search_.ingest(kKnowledgeCollection, batch, kSystem, work).status());
  }
  if (analyzer_ && embedder_) {
    // Optional: without it, a question that asks for a word is answered from
    // retrieval's order.
    auto matcher = DefinitionMatcher::build(*built, *analyzer_, *embedder_, work);
    if (matcher.is_ok())
      matcher_ = std::move(*matcher);
    else
      log::warn("the definition matcher was not built", {{"error", matcher.status().message()}});
  }
  for (auto& p : *built) {
    for (const auto& name : p.synonyms) title_by_name_.emplace(name, p.title);
    passages_.emplace(p.id, std::move(p));
  }
  // A title names its own passage before any synonym does.
  for (const auto& [id, p] : passages_) title_by_name_[p.title] = p.title;
  ready_ = true;
  return Status::ok();
}

std::size_t ChatService::knowledge_size() const {
  MutexLock lock(mu_);
  return passages_.size();
}

namespace {

Retrieved as_retrieved(const WardrobePiece& p) {
  Retrieved x;
  x.id = p.id;
  x.collection = "wardrobe";
  x.title = p.label;
  x.text = p.label + ": " + p.summary;
  x.score = p.score;
  return x;
}

}  // namespace

Result<RagAnswer> ChatService::wardrobe_answer(const RagRequest& r, const search::Caller& caller,
                                               const WorkContext& work,
                                               std::chrono::steady_clock::time_point t) const {
  RagAnswer out;
  ATELIER_ASSIGN_OR_RETURN(auto advice, advisor_(caller.id, r.question, work));
  out.retrieval_ms = ms_since(t);
  t = std::chrono::steady_clock::now();
  if (!advice) {
    out.answer.text =
        "I found no item in your wardrobe that the question names, so I cannot say what goes "
        "with it.";
    out.compose_ms = ms_since(t);
    return out;
  }
  const Retrieved anchor = as_retrieved(advice->anchor);
  std::vector<Retrieved> matches;
  for (const auto& m : advice->matches) matches.push_back(as_retrieved(m));
  out.retrieved.push_back(anchor);
  out.retrieved.insert(out.retrieved.end(), matches.begin(), matches.end());
  out.answer = compose_wardrobe(anchor, matches, advice->explanation);
  out.compose_ms = ms_since(t);
  return out;
}

Status ChatService::search_collections(const RagRequest& r, const search::Caller& caller,
                                       const WorkContext& work,
                                       std::vector<Retrieved>& retrieved) const {
  // Each collection once, by what it is: a name and the ref it stands for
  // (the knowledge base's own ref included) are the same collection.
  std::vector<std::string> names = {kKnowledgeCollection};
  std::vector<std::string> refs = {search_.ref_for(kKnowledgeCollection, caller)};
  for (const auto& c : r.collections) {
    const std::string ref = search_.ref_for(c, caller);
    if (std::find(refs.begin(), refs.end(), ref) != refs.end()) continue;
    names.push_back(c);
    refs.push_back(ref);
  }
  for (const auto& name : names) {
    search::SearchRequest sr;
    sr.query = r.question;
    // Lists need a few more; a question that asks for a word, candidates
    // for the definition matcher.
    sr.k = name != kKnowledgeCollection    ? r.k
           : asks_for_the_word(r.question) ? kWordCandidates
                                           : std::max(r.k, 10);
    sr.mode = search::Mode::hybrid;
    if (name != kKnowledgeCollection) sr.filter = r.filter;
    ATELIER_ASSIGN_OR_RETURN(auto hits, search_.search(name, sr, caller, work));
    for (const auto& h : hits) {
      Retrieved x;
      x.id = h.id;
      x.collection = name;
      x.score = h.score;
      x.bm25_rank = h.bm25_rank;
      x.vector_rank = h.vector_rank;
      if (name == kKnowledgeCollection) {
        MutexLock lock(mu_);
        const auto p = passages_.find(h.id);
        if (p == passages_.end()) continue;
        x.title = p->second.title;
        x.synonyms = p->second.synonyms;
        x.hypernym = p->second.hypernym;
        x.text = p->second.text;
      } else {
        x.text = h.text;  // cited verbatim, without the search's highlighting
      }
      retrieved.push_back(std::move(x));
    }
  }
  return Status::ok();
}

void ChatService::add_named_passages(const std::string& question,
                                     std::vector<Retrieved>& retrieved) const {
  // A third path besides BM25 and vectors: headwords the question names
  // exactly, and for "kinds of X" the passages whose hypernym is X, straight
  // from the knowledge base (score 0: after everything retrieved).
  const auto q = words_of(question);
  const bool kinds = question.find("kinds of") != std::string::npos ||
                     question.find("types of") != std::string::npos ||
                     question.find("examples of") != std::string::npos ||
                     question.find("sorts of") != std::string::npos;
  std::set<std::string> have;
  for (const auto& x : retrieved)
    if (x.collection == kKnowledgeCollection) have.insert(x.id);
  std::set<std::string> heads;
  MutexLock lock(mu_);
  auto add = [&](const Passage& p) {
    if (!have.insert(p.id).second) return;
    retrieved.push_back({p.id, kKnowledgeCollection, p.title, p.synonyms, p.hypernym, p.text, 0.0,
                         std::nullopt, std::nullopt});
  };
  for (const auto& [id, p] : passages_) {
    if (mention(q, p.title) < 0) continue;
    add(p);
    heads.insert(p.title);
  }
  if (kinds) {
    for (const auto& [id, p] : passages_)
      if (heads.count(p.hypernym)) add(p);
  }
}

std::vector<Retrieved> ChatService::kinds_asked_for(const std::string& question,
                                                    const std::vector<Retrieved>& retrieved) const {
  // "which|what <thing> <rest>", the thing one or two words that name a
  // passage and the rest saying what it is like; not a pairing question
  // ("what colour goes with navy" is advice, not a kind to find) nor a list
  // ("what kinds of boots").
  static const std::set<std::string> kNotDescribing = {
      "goes", "go", "match", "matches", "pairs", "pair", "suits", "with", "and",
      "or",   "of", "kinds", "kind",    "types", "type", "sorts", "sort", "examples"};
  const auto q = words_of(question);
  if (q.size() < 3 || (q[0] != "which" && q[0] != "what")) return {};
  // Comparisons ("which fabric is warmer, tweed or flannel?"), advice ("what
  // shoes look good with chinos?", "what colour complements navy?") and
  // lists ("what boots are there?") are answered as such.
  static const std::set<std::string> kPairing = {"go",   "goes",  "going", "wear", "worn",
                                                 "pair", "pairs", "well",  "good", "great",
                                                 "nice", "look",  "looks"};
  for (std::size_t i = 0; i < q.size(); ++i) {
    const std::string& w = q[i];
    if (w == "or" || w == "vs" || w == "versus" || w == "difference" || w == "compare" ||
        w == "complement" || w == "complements" || w == "match" || w == "matches" ||
        (w == "with" && i > 0 && kPairing.count(q[i - 1])))
      return {};
  }
  for (std::size_t i = 0; i + 1 < q.size(); ++i)
    if ((q[i] == "are" && q[i + 1] == "there") || q[i] == "exist") return {};
  MutexLock lock(mu_);
  std::string head;
  for (std::size_t n : {2, 1}) {
    if (q.size() < n + 2 || kNotDescribing.count(q[1]) || kNotDescribing.count(q[1 + n])) continue;
    std::string name = q[1];
    if (n == 2) name += " " + q[2];
    auto it = title_by_name_.find(name);
    // A plural names its singular ("dresses", "boots").
    for (const char* suffix : {"es", "s"}) {
      const std::size_t n_suffix = std::char_traits<char>::length(suffix);
      if (it != title_by_name_.end() || name.size() <= n_suffix + 2 ||
          name.compare(name.size() - n_suffix, n_suffix, suffix) != 0)
        continue;
      it = title_by_name_.find(name.substr(0, name.size() - n_suffix));
    }
    if (it != title_by_name_.end()) head = it->second;
    if (!head.empty()) break;
  }
  if (head.empty()) return {};
  std::set<std::string> heads = {head}, ids;
  for (int level = 0; level < 2; ++level) {
    std::set<std::string> next;
    for (const auto& [id, p] : passages_)
      if (heads.count(p.hypernym) && ids.insert(id).second) next.insert(p.title);
    heads = std::move(next);
  }
  std::vector<Retrieved> out;
  for (const auto& x : retrieved)
    if (x.collection == kKnowledgeCollection && ids.erase(x.id)) out.push_back(x);
  std::vector<const Passage*> rest;  // the others in a fixed order
  for (const auto& id : ids) rest.push_back(&passages_.at(id));
  for (const Passage* p : rest)
    out.push_back({p->id, kKnowledgeCollection, p->title, p->synonyms, p->hypernym, p->text, 0.0,
                   std::nullopt, std::nullopt});
  return out;
}

Result<bool> ChatService::rank_as_definitions(const std::string& question,
                                              std::vector<Retrieved>& retrieved,
                                              const WorkContext& work) const {
  std::shared_ptr<const DefinitionMatcher> matcher;
  {
    MutexLock lock(mu_);
    matcher = matcher_;
  }
  if (!matcher) return false;
  std::vector<Retrieved> knowledge, rest;
  for (auto& x : retrieved)
    (x.collection == kKnowledgeCollection ? knowledge : rest).push_back(std::move(x));
  std::vector<std::string> ids;
  for (const auto& x : knowledge) ids.push_back(x.id);
  auto scored = matcher->score(question, ids, work);
  if (!scored.is_ok() || scored->best_cover < kLeastCover) {
    // Retrieval's order stands (a failed embedding, or a description that
    // no passage covers enough to name it).
    retrieved = std::move(knowledge);
    for (auto& x : rest) retrieved.push_back(std::move(x));
    return false;
  }
  const auto& scores = scored->score;
  std::vector<std::size_t> order(knowledge.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
  // The best few stand as what was retrieved; the other collections' hits
  // follow.
  retrieved.clear();
  for (std::size_t i = 0; i < order.size() && i < kWordAnswers; ++i)
    retrieved.push_back(std::move(knowledge[order[i]]));
  for (auto& x : rest) retrieved.push_back(std::move(x));
  return true;
}

Result<RagAnswer> ChatService::rag(const RagRequest& r, const search::Caller& caller,
                                   const WorkContext& work) {
  if (r.question.empty() || r.question.size() > 4000)
    return Status::invalid_argument("'question' must be 1 to 4000 bytes");
  if (r.k < 1 || r.k > 20) return Status::invalid_argument("'k' must lie in [1, 20]");
  if (r.collections.size() > 5) return Status::invalid_argument("at most 5 'collections'");
  ATELIER_RETURN_IF_ERROR(ensure_knowledge(work));
  RagAnswer out;
  auto t = std::chrono::steady_clock::now();
  // "What goes with my navy blazer?": the asker's wardrobe answers.
  if (advisor_ && !caller.anonymous && asks_about_own_clothes(r.question))
    return wardrobe_answer(r, caller, work, t);
  ATELIER_RETURN_IF_ERROR(search_collections(r, caller, work, out.retrieved));
  std::stable_sort(out.retrieved.begin(), out.retrieved.end(),
                   [](const Retrieved& a, const Retrieved& b) { return a.score > b.score; });
  bool ranked = false;
  if (asks_for_the_word(r.question)) {
    ATELIER_ASSIGN_OR_RETURN(ranked, rank_as_definitions(r.question, out.retrieved, work));
  } else if (auto kinds = kinds_asked_for(r.question, out.retrieved); !kinds.empty()) {
    ATELIER_ASSIGN_OR_RETURN(ranked, rank_as_definitions(r.question, kinds, work));
    if (ranked) {
      // The kinds, then the hits of the caller's own collections.
      for (auto& x : out.retrieved)
        if (x.collection != kKnowledgeCollection) kinds.push_back(std::move(x));
      out.retrieved = std::move(kinds);
    }
  }
  if (!ranked) add_named_passages(r.question, out.retrieved);
  out.retrieval_ms = ms_since(t);
  t = std::chrono::steady_clock::now();
  out.answer = compose(r.question, out.retrieved, ranked);
  out.compose_ms = ms_since(t);
  return out;
}

std::string ChatService::rewrite(const std::vector<Message>& history) const {
  std::vector<const Message*> users;
  for (const auto& m : history)
    if (m.role == "user") users.push_back(&m);
  if (users.empty()) return "";
  const std::string& latest = users.back()->content;
  if (users.size() < 2) return latest;
  const auto q = words_of(latest);
  static const std::vector<std::string> back = {"it",   "its",   "they",  "them", "that",
                                                "this", "those", "these", "one",  "ones"};
  bool refers_back = false;
  for (const auto& w : q) refers_back = refers_back || std::count(back.begin(), back.end(), w);
  bool names = false;
  {
    MutexLock lock(mu_);
    for (const auto& [id, p] : passages_) {
      if (mention(q, p.title) >= 0) {
        names = true;
        break;
      }
    }
  }
  if (names && !refers_back) return latest;
  return users[users.size() - 2]->content + " " + latest;
}

Status ChatService::add_engine(std::unique_ptr<ChatEngine> engine) {
  if (engine->model() == "local" || engine_for(engine->model()))
    return Status::already_exists("a chat model named '" + engine->model() + "' is served already");
  engines_.push_back(std::move(engine));
  return Status::ok();
}

ChatEngine* ChatService::engine_for(const std::string& model) const {
  for (const auto& e : engines_)
    if (e->model() == model) return e.get();
  return nullptr;
}

std::vector<ChatService::ModelInfo> ChatService::models() const {
  std::vector<ModelInfo> out = {{"local", "local"}};
  for (const auto& e : engines_) out.push_back({e->model(), std::string(e->kind())});
  return out;
}

std::string ChatService::kind_of(const std::string& model) const {
  if (model == "local") return "local";
  const ChatEngine* e = engine_for(model);
  return e ? std::string(e->kind()) : "";
}

Result<Conversation> ChatService::create_conversation(const std::string& owner,
                                                      const std::string& title,
                                                      const WorkContext& work) {
  if (title.size() > 200) return Status::invalid_argument("'title' has at most 200 bytes");
  Conversation c{random_id("cv_"), owner, title, unix_millis(), unix_millis(), 0};
  ATELIER_RETURN_IF_ERROR(conversations_.in(work).create(c));
  return c;
}

Result<Turn> ChatService::reply(const TurnRequest& r, const search::Caller& caller,
                                const WorkContext& work) {
  const bool hosted = r.model != "local";
  ChatEngine* engine = hosted ? engine_for(r.model) : nullptr;
  if (hosted && !engine) {
    std::string names;
    for (const auto& m : models()) names += (names.empty() ? "'" : ", '") + m.name + "'";
    return Status::not_found("the model '" + r.model + "' is not served here; try " + names);
  }
  if (r.messages.empty()) return Status::invalid_argument("no message to answer");
  std::size_t total = 0;
  for (const auto& m : r.messages) {
    if (m.content.size() > 32 * 1024)
      return Status::invalid_argument("a message has at most 32 KiB of text");
    total += m.content.size();
  }
  if (total > 256 * 1024)
    return Status::payload_too_large("a request's messages hold at most 256 KiB of text");
  std::vector<Message> history;
  ConversationRepository repo = conversations_.in(work);
  if (!r.conversation_id.empty()) {
    ATELIER_ASSIGN_OR_RETURN(history, repo.messages(r.owner, r.conversation_id));
  }
  history.insert(history.end(), r.messages.begin(), r.messages.end());
  if (history.back().role != "user")
    return Status::invalid_argument("the last turn must be the user's");
  ATELIER_RETURN_IF_ERROR(ensure_knowledge(work));
  const auto seen = history_within(history, history_budget_);
  Turn t;
  for (const auto& m : seen) t.prompt_tokens += estimated_tokens(m.content);
  t.question = rewrite(seen);
  RagRequest rr;
  rr.question = t.question.size() > 4000 ? t.question.substr(t.question.size() - 4000) : t.question;
  rr.collections = r.collections;
  ATELIER_ASSIGN_OR_RETURN(t.rag, rag(rr, caller, work));
  t.engine = r.model;
  if (!hosted) {
    t.text = t.rag.answer.text;
    // The composer does not sample: temperature, top_p and seed change
    // nothing; stop and max_tokens cut what it wrote.
    t.finish_reason = limit_answer(&t.text, r.sampling);
    for (const auto& c : t.rag.answer.cited) t.sources.push_back(c.source);
    t.found = t.rag.answer.found;
    t.completion_tokens = estimated_tokens(t.text);
  } else {
    // The hosted engine answers from the best passages, numbered as sources.
    for (const auto& x : t.rag.retrieved) {
      if (t.sources.size() >= 5) break;
      if (!x.text.empty()) t.sources.push_back(x);
    }
    if (r.on_sources) r.on_sources(t.sources);
    const DeltaSink sink =
        r.on_delta ? r.on_delta : DeltaSink([](std::string_view) { return true; });
    ATELIER_ASSIGN_OR_RETURN(EngineOutput o,
                             engine->complete(seen, t.sources, r.sampling, sink, work, r.on_wait));
    t.text = std::move(o.text);
    t.finish_reason = o.finish_reason;
    t.found = true;
    if (o.prompt_tokens) t.prompt_tokens = *o.prompt_tokens;
    t.completion_tokens = o.completion_tokens.value_or(estimated_tokens(t.text));
  }
  if (!r.conversation_id.empty()) {
    std::vector<Message> turns = r.messages;
    nlohmann::json sources = nlohmann::json::array();
    for (std::size_t i = 0; i < t.sources.size(); ++i)
      sources.push_back(
          {{"n", i + 1}, {"id", t.sources[i].id}, {"collection", t.sources[i].collection}});
    turns.push_back({0, "assistant", t.text, sources.dump(), 0});
    ATELIER_RETURN_IF_ERROR(repo.append(r.owner, r.conversation_id, turns, unix_millis()));
  }
  return t;
}

}  // namespace atelier::chat
