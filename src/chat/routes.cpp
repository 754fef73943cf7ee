// POST /v1/rag/query and GET /v1/rag/knowledge.
#include "chat/routes.h"

#include "core/json.h"
#include "http/problem.h"
#include "search/routes.h"

namespace atelier::api {

namespace {

using http::Access;
using http::Exec;
using http::Method;
using http::RequestContext;
using http::Response;
using nlohmann::ordered_json;

search::Caller caller(const Identity& id) {
  return search::Caller{id.id, id.admin(), id.anonymous()};
}

ordered_json ranks(const chat::Retrieved& r) {
  return {{"score", json::round3(r.score)},
          {"bm25_rank", r.bm25_rank ? ordered_json(*r.bm25_rank) : ordered_json(nullptr)},
          {"vector_rank", r.vector_rank ? ordered_json(*r.vector_rank) : ordered_json(nullptr)}};
}

const nlohmann::json kRagExample = nlohmann::json::parse(R"({
  "answer": "tweed: thick woolly fabric; a coarse twill [1] flannel: a soft light woolen fabric; used for clothing [2] Both are kinds of fabric.",
  "found": true,
  "sources": [
    {"n": 1, "id": "wn30-n-04516116", "collection": "style-glossary", "title": "tweed",
     "snippet": "tweed: thick woolly fabric; a coarse twill [a kind of fabric]",
     "score": 0.033, "bm25_rank": 1, "vector_rank": 2},
    {"n": 2, "id": "wn30-n-03364340", "collection": "style-glossary", "title": "flannel",
     "snippet": "flannel: a soft light woolen fabric; used for clothing [a kind of fabric]",
     "score": 0.032, "bm25_rank": 2, "vector_rank": 1}],
  "retrieval": [{"id": "wn30-n-04516116", "collection": "style-glossary", "score": 0.033,
                 "bm25_rank": 1, "vector_rank": 2}],
  "engine": "local",
  "timings_ms": {"retrieval": 2.1, "compose": 0.02}
})");

}  // namespace

void add_chat_routes(http::Router& router, ApiDeps& d, chat::ChatService& svc) {
  (void)d;
  router.add({
      .method = Method::post,
      .path = "/v1/rag/query",
      .operation_id = "rag_query",
      .summary = "A grounded answer to a question from the style knowledge base (WordNet) and the "
                 "collections named: every sentence is a verbatim span of a cited source or a "
                 "fixed connective; when nothing relevant is found it says so",
      .tag = "chat",
      .access = Access::caller,
      .cost = 1,
      .exec = Exec::worker_pool,
      .request_schema = {{"type", "object"},
                         {"required", {"question"}},
                         {"properties",
                          {{"question", {{"type", "string"}, {"maxLength", 4000}}},
                           {"collections", {{"type", "array"}, {"items", {{"type", "string"}}}}},
                           {"k", {{"type", "integer"}, {"minimum", 1}, {"maximum", 20}}},
                           {"filter", {{"type", "string"}, {"description", "key:value"}}}}}},
      .request_example = {{"question", "What is the difference between tweed and flannel?"}},
      .response_example = kRagExample,
      .errors = {404, 503},
      .handler = [&svc](const RequestContext& ctx) -> Result<Response> {
        ATELIER_ASSIGN_OR_RETURN(auto body, http::parse_json_body(ctx.req));
        chat::RagRequest r;
        if (!body.contains("question") || !body["question"].is_string())
          return Status::invalid_argument("'question' is required (a string)");
        r.question = body["question"].get<std::string>();
        if (body.contains("k")) {
          if (!body["k"].is_number_integer()) return Status::invalid_argument("'k' is an integer");
          r.k = body["k"].get<int>();
        }
        if (body.contains("collections")) {
          if (!body["collections"].is_array())
            return Status::invalid_argument("'collections' is a list of names");
          for (const auto& c : body["collections"]) {
            if (!c.is_string()) return Status::invalid_argument("'collections' holds names");
            r.collections.push_back(c.get<std::string>());
          }
        }
        if (body.contains("filter")) {
          if (!body["filter"].is_string()) return Status::invalid_argument("'filter' is key:value");
          ATELIER_ASSIGN_OR_RETURN(r.filter,
                                   parse_metadata_filter(body["filter"].get<std::string>()));
        }
        ATELIER_ASSIGN_OR_RETURN(auto a, svc.rag(r, caller(ctx.identity), ctx.work));
        ordered_json sources = ordered_json::array();
        for (const auto& c : a.answer.cited) {
          ordered_json s = {{"n", c.n},
                            {"id", c.source.id},
                            {"collection", c.source.collection},
                            {"title", c.source.title.empty() ? ordered_json(nullptr)
                                                             : ordered_json(c.source.title)},
                            {"snippet", c.source.text}};
          s.update(ranks(c.source));
          sources.push_back(std::move(s));
        }
        ordered_json retrieval = ordered_json::array();
        for (const auto& x : a.retrieved) {
          ordered_json j = {{"id", x.id}, {"collection", x.collection}};
          j.update(ranks(x));
          retrieval.push_back(std::move(j));
        }
        ordered_json j;
        j["answer"] = a.answer.text;
        j["found"] = a.answer.found;
        j["sources"] = sources;
        j["retrieval"] = retrieval;
        j["engine"] = "local";
        j["timings_ms"] = {{"retrieval", json::round3(a.retrieval_ms)},
                           {"compose", json::round3(a.compose_ms)}};
        return Response::json_ordered(200, j);
      },
  });
  router.add({
      .method = Method::get,
      .path = "/v1/rag/knowledge",
      .operation_id = "rag_knowledge",
      .summary = "The default knowledge base: its collection, size, source and licence notice",
      .tag = "chat",
      .access = Access::open,
      .exec = Exec::worker_pool,
      .handler = [&svc](const RequestContext& ctx) -> Result<Response> {
        ATELIER_RETURN_IF_ERROR(svc.ensure_knowledge(ctx.work));
        ordered_json j;
        j["collection"] = chat::kKnowledgeCollection;
        j["passages"] = svc.knowledge_size();
        j["source"] =
            "WordNet 3.0 noun synsets in the style domains, built from Debian's "
            "wordnet-base";
        j["license"] = "WordNet-3.0";
        j["license_text"] = chat::kWordNetLicence;
        return Response::json_ordered(200, j);
      },
  });
}

}  // namespace atelier::api
