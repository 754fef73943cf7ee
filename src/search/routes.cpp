// Collections, bulk ingest, delete, BM25 / vector / hybrid search, index stats.
#include <algorithm>
#include <charconv>
#include <sstream>

#include "core/ids.h"
#include "core/json.h"
#include "http/paging.h"
#include "http/problem.h"
#include "search/routes.h"

namespace atelier::api {

using http::Access;
using http::Exec;
using http::Method;
using http::QueryParam;
using http::RequestContext;
using http::Response;
using http::RouteSpec;

namespace {

Status valid_name(const std::string& name) {
  if (name.empty() || name.size() > 64)
    return Status::invalid_argument("collection names have 1 to 64 characters");
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '-' && c != '_') {
      return Status::invalid_argument("collection names use letters, digits, '-' and '_'");
    }
  }
  return Status::ok();
}

// A stored document as answers show it: its id, text and metadata (never its vector).
nlohmann::ordered_json document_json(const DocumentRecord& doc) {
  auto meta = nlohmann::ordered_json::parse(doc.metadata_json, nullptr, false);
  return {{"id", doc.id},
          {"text", doc.text},
          {"metadata", meta.is_discarded() ? nlohmann::ordered_json::object() : meta}};
}

// ?include=text,metadata: what search hits carry besides their ids and scores.
struct HitFields {
  bool text = false, metadata = false;
};
Result<HitFields> hit_fields(const RequestContext& ctx) {
  HitFields f;
  std::string v;
  if (!ctx.req.query_param("include", &v)) return f;
  std::string_view rest = v;
  while (!rest.empty()) {
    const auto comma = rest.find(',');
    const std::string_view part = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (part == "text")
      f.text = true;
    else if (part == "metadata")
      f.metadata = true;
    else if (!part.empty())
      return Status::invalid_argument("'include' lists text and metadata");
  }
  return f;
}

nlohmann::ordered_json collection_json(const Collection& c) {
  nlohmann::ordered_json j;
  j["name"] = c.name;
  j["ref"] = c.ref;
  j["owner"] = c.owner;
  j["model"] = c.model;
  j["dimensions"] = c.dimensions;
  j["documents"] = c.documents;
  j["created_at"] = c.created_at;
  j["visibility"] = c.visibility;
  return j;
}

Result<search::IngestDocument> parse_document(const nlohmann::json& item, std::size_t i,
                                              int max_chars) {
  const std::string where = "document " + std::to_string(i);
  if (!item.is_object()) return Status::invalid_argument(where + " must be an object");
  search::IngestDocument d;
  auto id = item.find("id");
  if (id == item.end() || !(id->is_string() || id->is_number_integer())) {
    return Status::invalid_argument(where + ": 'id' (string or integer) is required");
  }
  d.id = id->is_string() ? id->get<std::string>() : id->dump();
  ATELIER_RETURN_IF_ERROR(check_id(d.id, where + ": 'id'"));
  auto text = item.find("text");
  if (text == item.end() || !text->is_string() || text->get_ref<const std::string&>().empty()) {
    return Status::invalid_argument(where + ": 'text' (non-empty string) is required");
  }
  d.text = text->get<std::string>();
  int cps = 0;
  if (!text::valid_utf8(d.text, &cps))
    return Status::invalid_argument(where + ": text is not valid UTF-8");
  if (cps > max_chars) {
    return Status::payload_too_large(where + ": text has " + std::to_string(cps) +
                                     " characters; the limit is " + std::to_string(max_chars));
  }
  if (auto m = item.find("metadata"); m != item.end() && !m->is_null()) {
    // Its bounds are checked once, by SearchService::ingest.
    if (!m->is_object()) return Status::invalid_argument(where + ": 'metadata' must be an object");
    d.metadata_json = m->dump();
  }
  return d;
}

Result<int> int_param(const http::Request& req, const char* name, int fallback, int lo, int hi) {
  ATELIER_ASSIGN_OR_RETURN(std::int64_t x, req.query_int(name, fallback, lo, hi));
  return static_cast<int>(x);
}

}  // namespace

search::Caller caller_of(const Identity& id) {
  return search::Caller{id.id, id.admin(), id.anonymous()};
}

Result<MetadataFilter> parse_metadata_filter(const std::string& filter) {
  auto colon = filter.find(':');
  if (colon == std::string::npos || colon == 0)
    return Status::invalid_argument("'filter' must be key:value");
  MetadataFilter f{filter.substr(0, colon), filter.substr(colon + 1)};
  for (unsigned char c : f.key) {
    if (!std::isalnum(c) && c != '_')
      return Status::invalid_argument("filter keys use letters, digits and '_'");
  }
  return f;
}

Response ingest_response(const std::string& collection, const UpsertCounts& counts) {
  nlohmann::ordered_json j;
  j["collection"] = collection;
  j["inserted"] = counts.inserted;
  j["updated"] = counts.updated;
  return Response::json_ordered(200, j);
}

namespace {

// The handlers of add_search_routes(), named after their routes' operation ids,
// over what they need.
struct SearchHandlers {
  ApiDeps& d;
  search::SearchService& svc;

  Result<Response> handle_create_collection(const RequestContext& ctx) const;
  Result<Response> handle_list_collections(const RequestContext& ctx) const;
  Result<Response> handle_get_collection(const RequestContext& ctx) const;
  Result<Response> handle_ingest_documents(const RequestContext& ctx) const;
  Result<Response> handle_delete_collection(const RequestContext& ctx) const;
  Result<Response> handle_delete_document(const RequestContext& ctx) const;
  Result<Response> handle_list_documents(const RequestContext& ctx) const;
  Result<Response> handle_get_document(const RequestContext& ctx) const;
  Result<Response> handle_search(const RequestContext& ctx) const;
  Result<Response> handle_index_stats(const RequestContext& ctx) const;
};

Result<Response> SearchHandlers::handle_create_collection(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto body, http::parse_json_body(ctx.req));
  if (!body.is_object() || !body.contains("name") || !body["name"].is_string()) {
    return Status::invalid_argument("'name' (string) is required");
  }
  const std::string name = body["name"];
  ATELIER_RETURN_IF_ERROR(valid_name(name));
  std::string model = d.config.embedding_model;
  if (body.contains("model") && !body["model"].is_null()) {
    if (!body["model"].is_string()) return Status::invalid_argument("'model' must be a string");
    model = body["model"];
  }
  std::string visibility = "private";
  if (body.contains("visibility") && !body["visibility"].is_null()) {
    if (!body["visibility"].is_string())
      return Status::invalid_argument("'visibility' is private or public");
    visibility = body["visibility"];
  }
  ATELIER_ASSIGN_OR_RETURN(Collection c,
                           svc.create(name, caller_of(ctx.identity), model, visibility));
  Response r = Response::json_ordered(201, collection_json(c));
  r.set_header("Location", "/v1/collections/" + c.name);
  return r;
}

Result<Response> SearchHandlers::handle_list_collections(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto start, http::page_start(ctx, *d.cursors, "collections"));
  ATELIER_ASSIGN_OR_RETURN(const int limit, http::page_limit(ctx));
  ATELIER_ASSIGN_OR_RETURN(auto cols, svc.list(caller_of(ctx.identity)));
  // By reference, a page after the reference the cursor holds.
  std::sort(cols.begin(), cols.end(), [](const auto& a, const auto& b) { return a.ref < b.ref; });
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  std::optional<PagePosition> next;
  for (auto& c : cols) {
    if (start && c.ref <= start->id) continue;
    if (static_cast<int>(arr.size()) == limit) {
      next = PagePosition{0, arr.back()["ref"].get<std::string>()};
      break;
    }
    arr.push_back(collection_json(c));
  }
  return http::page_answer(ctx, *d.cursors, "collections", next, {{"collections", arr}});
}

Result<Response> SearchHandlers::handle_get_collection(const RequestContext& ctx) const {
  const std::string& name = ctx.req.path_params.at("name");
  // What the list shows, for one name; another owner's private one reads as absent.
  const auto caller = caller_of(ctx.identity);
  const std::string ref = svc.ref_for(name, caller);
  ATELIER_ASSIGN_OR_RETURN(auto cols, svc.list(caller));
  for (const auto& c : cols)
    if (c.ref == ref) return Response::json_ordered(200, collection_json(c));
  return Status::not_found("no collection '" + name + "'");
}

Result<Response> SearchHandlers::handle_ingest_documents(const RequestContext& ctx) const {
  const std::string& name = ctx.req.path_params.at("name");
  auto ct = ctx.req.header("Content-Type");
  std::vector<search::IngestDocument> docs;
  if (ct.find("ndjson") != std::string_view::npos || ct.find("jsonl") != std::string_view::npos) {
    // Every line goes through the same bounded parser as a JSON body.
    std::string_view rest = ctx.req.body;
    std::size_t n = 0, line_no = 0;
    while (!rest.empty()) {
      const auto nl = rest.find('\n');
      std::string_view line = rest.substr(0, nl);
      rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      ATELIER_ASSIGN_OR_RETURN(auto item, json::parse(line, {}, "line " + std::to_string(line_no)));
      ATELIER_ASSIGN_OR_RETURN(auto doc, parse_document(item, n++, d.config.max_input_length));
      docs.push_back(std::move(doc));
    }
  } else {
    ATELIER_ASSIGN_OR_RETURN(auto body, http::parse_json_body(ctx.req));
    if (!body.is_array()) return Status::invalid_argument("expected a JSON array of documents");
    for (std::size_t i = 0; i < body.size(); ++i) {
      ATELIER_ASSIGN_OR_RETURN(auto doc, parse_document(body[i], i, d.config.max_input_length));
      docs.push_back(std::move(doc));
    }
  }
  if (docs.empty()) return Status::invalid_argument("no documents in the request");
  ATELIER_ASSIGN_OR_RETURN(UpsertCounts counts,
                           svc.ingest(name, docs, caller_of(ctx.identity), ctx.work));
  return ingest_response(name, counts);
}

Result<Response> SearchHandlers::handle_delete_collection(const RequestContext& ctx) const {
  ATELIER_RETURN_IF_ERROR(svc.drop(ctx.req.path_params.at("name"), caller_of(ctx.identity)));
  return Response::no_content();
}

Result<Response> SearchHandlers::handle_delete_document(const RequestContext& ctx) const {
  ATELIER_RETURN_IF_ERROR(svc.remove(ctx.req.path_params.at("name"), ctx.req.path_params.at("id"),
                                     caller_of(ctx.identity)));
  return Response::no_content();
}

Result<Response> SearchHandlers::handle_search(const RequestContext& ctx) const {
  search::SearchRequest sr;
  if (!ctx.req.query_param("q", &sr.query) || sr.query.empty())
    return Status::invalid_argument("'q' is required");
  int cps = 0;
  if (!text::valid_utf8(sr.query, &cps)) return Status::invalid_argument("'q' is not valid UTF-8");
  if (cps > d.config.max_input_length)
    return Status::payload_too_large("'q' is longer than the input limit");
  ATELIER_ASSIGN_OR_RETURN(sr.k, int_param(ctx.req, "k", 10, 1, 100));
  std::string mode;
  if (ctx.req.query_param("mode", &mode) && !mode.empty() && !search::parse_mode(mode, &sr.mode)) {
    return Status::invalid_argument("'mode' must be bm25, vector or hybrid");
  }
  std::string filter;
  if (ctx.req.query_param("filter", &filter) && !filter.empty()) {
    ATELIER_ASSIGN_OR_RETURN(sr.filter, parse_metadata_filter(filter));
  }
  ATELIER_ASSIGN_OR_RETURN(const HitFields fields, hit_fields(ctx));
  const auto t0 = SteadyClock::now();
  ATELIER_ASSIGN_OR_RETURN(
      auto hits, svc.search(ctx.req.path_params.at("name"), sr, caller_of(ctx.identity), ctx.work));
  d.metrics.observe_search(mode.empty() ? "hybrid" : mode,
                           std::chrono::duration<double>(SteadyClock::now() - t0).count());
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& h : hits) {
    nlohmann::ordered_json j;
    j["id"] = h.id;
    j["score"] = h.score;
    j["bm25"] = h.bm25_rank ? nlohmann::ordered_json{{"rank", *h.bm25_rank},
                                                     {"score", h.bm25_score.value_or(0)}}
                            : nlohmann::ordered_json(nullptr);
    j["vector"] = h.vector_rank ? nlohmann::ordered_json{{"rank", *h.vector_rank},
                                                         {"score", h.vector_score.value_or(0)}}
                                : nlohmann::ordered_json(nullptr);
    j["snippet"] = h.snippet;
    if (fields.text) j["text"] = h.text;
    if (fields.metadata) {
      auto meta = nlohmann::ordered_json::parse(h.metadata_json, nullptr, false);
      j["metadata"] = meta.is_discarded() ? nlohmann::ordered_json::object() : meta;
    }
    arr.push_back(std::move(j));
  }
  nlohmann::ordered_json out;
  out["query"] = sr.query;
  out["mode"] = mode.empty() ? "hybrid" : mode;
  out["hits"] = arr;
  return Response::json_ordered(200, out);
}

Result<Response> SearchHandlers::handle_list_documents(const RequestContext& ctx) const {
  const std::string& name = ctx.req.path_params.at("name");
  // A cursor continues one collection's documents, after the id it names.
  const std::string list = "documents:" + name;
  ATELIER_ASSIGN_OR_RETURN(auto start, http::page_start(ctx, *d.cursors, list));
  ATELIER_ASSIGN_OR_RETURN(const int limit, http::page_limit(ctx));
  ATELIER_ASSIGN_OR_RETURN(auto docs, svc.documents(name, caller_of(ctx.identity),
                                                    start ? start->id : "", limit + 1, ctx.work));
  const auto next = trim_page(docs, limit, [](const DocumentRecord& doc) {
    return PagePosition{0, doc.id};
  });
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& doc : docs) arr.push_back(document_json(doc));
  return http::page_answer(ctx, *d.cursors, list, next, {{"documents", arr}});
}

Result<Response> SearchHandlers::handle_get_document(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(
      auto doc, svc.document(ctx.req.path_params.at("name"), ctx.req.path_params.at("id"),
                             caller_of(ctx.identity), ctx.work));
  return Response::json_ordered(200, document_json(doc));
}

Result<Response> SearchHandlers::handle_index_stats(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto stats, svc.stats(caller_of(ctx.identity)));
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  std::size_t vectors = 0, memory = 0;
  for (auto& s : stats) {
    auto j = collection_json(s.collection);
    j["index"] = s.index_kind;
    j["loaded"] = s.loaded;
    j["vectors"] = s.vectors;
    j["memory_bytes"] = s.memory_bytes;
    vectors += s.vectors;
    memory += s.memory_bytes;
    arr.push_back(std::move(j));
  }
  nlohmann::ordered_json out;
  out["collections"] = arr;
  out["total_vectors"] = vectors;
  out["total_memory_bytes"] = memory;
  for (const auto& part : d.index_stats.parts()) {
    ATELIER_ASSIGN_OR_RETURN(out[part.name], part.stats(ctx.identity, ctx.work));
  }
  return Response::json_ordered(200, out);
}

}  // namespace

void add_search_routes(http::Router& router, ApiDeps& d, search::SearchService& svc) {
  const auto h = std::make_shared<const SearchHandlers>(SearchHandlers{d, svc});
  router.add({
      .method = Method::post,
      .path = "/v1/collections",
      .operation_id = "create_collection",
      .summary = "Create a search collection whose vectors come from an embedding model",
      .tag = "search",
      .access = Access::user,
      .request_schema =
          {{"type", "object"},
           {"required", {"name"}},
           {"properties",
            {{"name", {{"type", "string"}, {"pattern", "^[A-Za-z0-9_-]{1,64}$"}}},
             {"model", {{"type", "string"}}},
             {"visibility",
              {{"type", "string"}, {"enum", {"private", "public"}}, {"default", "private"}}}}}},
      .request_example = nlohmann::json::parse(
          R"({"name": "fabrics", "model": "glove-sif-100d", "visibility": "private"})"),
      .response_example = nlohmann::json::parse(
          R"({"name": "fabrics", "ref": "user:7:fabrics", "owner": "user:7", "model": "glove-sif-100d",
        "dimensions": 100, "documents": 0, "created_at": 1796583480,
        "visibility": "private"})"),
      .success_status = 201,
      .errors = {409},
      .idempotency = http::Idempotency::pipeline,
      .handler = http::bind_handler(h, &SearchHandlers::handle_create_collection),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/collections",
      .operation_id = "list_collections",
      .summary =
          "The collections the caller may read (its own and public ones), with document counts",
      .tag = "search",
      .access = Access::caller,
      .exec = Exec::worker_pool,
      .response_example = nlohmann::json::parse(
          R"({"collections": [{"name": "fabrics", "ref": "user:7:fabrics", "owner": "user:7",
        "model": "glove-sif-100d", "dimensions": 100, "documents": 2,
        "created_at": 1796583480, "visibility": "private"}], "next_cursor": null})"),
      .query = {http::limit_param(), http::cursor_param()},
      .handler = http::bind_handler(h, &SearchHandlers::handle_list_collections),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/collections/{name}",
      .operation_id = "get_collection",
      .summary = "One collection the caller may read, as the list shows it (the Location of its "
                 "creation)",
      .tag = "search",
      .access = Access::caller,
      .exec = Exec::worker_pool,
      .response_example = nlohmann::json::parse(
          R"({"name": "fabrics", "ref": "user:7:fabrics", "owner": "user:7", "model": "glove-sif-100d",
        "dimensions": 100, "documents": 2, "created_at": 1796583480,
        "visibility": "private"})"),
      .errors = {404},
      .handler = http::bind_handler(h, &SearchHandlers::handle_get_collection),
  });
  router.add({
      .method = Method::post,
      .path = "/v1/collections/{name}/documents",
      .operation_id = "ingest_documents",
      .summary = "Add or replace documents: a JSON array, or JSON lines (application/x-ndjson)",
      .tag = "search",
      .access = Access::user,
      .cost = 1,
      .exec = Exec::worker_pool,
      .request_schema = {{"type", "array"},
                         {"items",
                          {{"type", "object"},
                           {"required", {"id", "text"}},
                           {"properties",
                            {{"id", {{"type", "string"}}},
                             {"text", {{"type", "string"}}},
                             {"metadata", {{"type", "object"}}}}}}}},
      .request_example = nlohmann::json::parse(
          R"([{"id": "tweed", "text": "Tweed is a rough woollen cloth.", "metadata": {"fibre": "wool"}}])"),
      .response_example =
          nlohmann::json::parse(R"({"collection": "fabrics", "inserted": 1, "updated": 0})"),
      .errors = {403, 404, 413},
      .idempotency = http::Idempotency::pipeline,
      .handler = http::bind_handler(h, &SearchHandlers::handle_ingest_documents),
  });
  router.add({
      .method = Method::del,
      .path = "/v1/collections/{name}",
      .operation_id = "delete_collection",
      .summary = "Delete a collection with its documents and indexes (owner or admin)",
      .tag = "search",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_content_type = "",
      .success_status = 204,
      .errors = {403, 404},
      .handler = http::bind_handler(h, &SearchHandlers::handle_delete_collection),
  });
  router.add({
      .method = Method::del,
      .path = "/v1/collections/{name}/documents/{id}",
      .operation_id = "delete_document",
      .summary = "Delete a document from the table, the full-text index and the vector index",
      .tag = "search",
      .access = Access::user,
      .exec = Exec::worker_pool,
      .response_content_type = "",
      .success_status = 204,
      .errors = {403, 404},
      .handler = http::bind_handler(h, &SearchHandlers::handle_delete_document),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/collections/{name}/documents",
      .operation_id = "list_documents",
      .summary = "A collection's documents by id: text and metadata (cursor pagination)",
      .tag = "search",
      .access = Access::caller,
      .exec = Exec::worker_pool,
      .response_example = nlohmann::json::parse(R"({"documents": [{"id": "tweed",
        "text": "Tweed is a rough woollen fabric.", "metadata": {"kind": "fabric"}}],
        "next_cursor": null})"),
      .response_maps = {"metadata"},
      .errors = {404},
      .query = {http::limit_param(), http::cursor_param()},
      .handler = http::bind_handler(h, &SearchHandlers::handle_list_documents),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/collections/{name}/documents/{id}",
      .operation_id = "get_document",
      .summary = "One document of a collection: its text and metadata",
      .tag = "search",
      .access = Access::caller,
      .exec = Exec::worker_pool,
      .response_example =
          nlohmann::json::parse(R"({"id": "tweed", "text": "Tweed is a rough woollen cloth.",
        "metadata": {"fibre": "wool"}})"),
      .response_maps = {"metadata"},
      .errors = {404},
      .handler = http::bind_handler(h, &SearchHandlers::handle_get_document),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/collections/{name}/search",
      .operation_id = "search",
      .summary = "BM25, vector or hybrid (reciprocal rank fusion) search",
      .tag = "search",
      .access = Access::caller,
      .cost = 1,
      .exec = Exec::worker_pool,
      .response_example = nlohmann::json::parse(
          R"({"query": "woollen cloth", "mode": "hybrid", "hits": [{"id": "tweed",
        "score": 0.0333333, "bm25": {"rank": 1, "score": 1.32657},
        "vector": {"rank": 1, "score": 0.8014},
        "snippet": "Tweed is a rough <b>woollen</b> <b>cloth</b>"}]})"),
      .errors = {400, 404},
      .query = {QueryParam{"q", "the query", {{"type", "string"}}, true},
                QueryParam{"k", "hits to return (1-100, default 10)", {{"type", "integer"}}},
                QueryParam{"mode",
                           "bm25, vector or hybrid (default)",
                           {{"type", "string"}, {"enum", {"bm25", "vector", "hybrid"}}}},
                QueryParam{"filter", "metadata equality, key:value", {{"type", "string"}}},
                QueryParam{"include",
                           "what each hit carries besides its id, scores and snippet: text, "
                           "metadata, or text,metadata",
                           {{"type", "string"}}}},
      .handler = http::bind_handler(h, &SearchHandlers::handle_search),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/index/stats",
      .operation_id = "index_stats",
      .summary = "Collections, vector counts, dimensions, index type and memory; the caller's "
                 "wardrobe vectors",
      .tag = "search",
      .access = Access::caller,
      .exec = Exec::worker_pool,
      .response_example =
          nlohmann::json::parse(R"({"collections": [{"name": "fabrics", "ref": "user:7:fabrics",
        "owner": "user:7", "model": "glove-sif-100d", "dimensions": 100, "documents": 1,
        "created_at": 1796595343, "visibility": "private", "index": "flat", "loaded": true,
        "vectors": 1, "memory_bytes": 1916}], "total_vectors": 1, "total_memory_bytes": 1916,
        "wardrobe": {"index": "exact", "items": 0, "vectors": 0, "dimensions": 0, "model": null,
        "memory_bytes": 0, "style_space": null}})"),
      .handler = http::bind_handler(h, &SearchHandlers::handle_index_stats),
  });
}

UserDataPart search_user_data(search::SearchService& svc, CollectionRepository& store) {
  UserDataPart p;
  p.name = "search";
  p.export_all = [&svc, &store](const std::string& owner) -> Result<nlohmann::ordered_json> {
    nlohmann::ordered_json out;
    auto& arr = out["collections"] = nlohmann::ordered_json::array();
    ATELIER_ASSIGN_OR_RETURN(auto cols, svc.list(search::Caller{owner, false, false}));
    for (const auto& c : cols) {
      if (c.owner != owner) continue;  // public collections of others are not the caller's data
      auto j = collection_json(c);
      auto& docs = j["documents_list"] = nlohmann::ordered_json::array();
      // Ids first, then one read per document: a read inside the scan's
      // callback would hold two pooled connections at once.
      std::vector<std::string> ids;
      ATELIER_RETURN_IF_ERROR(
          store.scan_documents(c.id, [&](const DocumentRecord& d) { ids.push_back(d.id); }));
      for (const auto& id : ids) {
        auto d = store.get_document(c.id, id);
        if (!d.is_ok()) continue;  // deleted since the scan
        nlohmann::ordered_json doc;
        doc["id"] = d->id;
        doc["text"] = d->text;
        auto meta = json::parse(d->metadata_json, {}, "metadata");
        doc["metadata"] = meta.is_ok() ? nlohmann::ordered_json::parse(meta->dump())
                                       : nlohmann::ordered_json::object();
        docs.push_back(std::move(doc));
      }
      arr.push_back(std::move(j));
    }
    return out;
  };
  p.erase_all = [&svc](const std::string& owner) { return svc.drop_owned_by(owner); };
  return p;
}

}  // namespace atelier::api
