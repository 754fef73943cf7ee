// POST /v1/text/analyze and GET /v1/text/languages.
#include "text/routes.h"
#include "http/problem.h"

namespace atelier::api {

using http::Access;
using http::Exec;
using http::Method;
using http::RequestContext;
using http::Response;
using http::RouteSpec;

namespace {

const nlohmann::json kAnalyzeRequest = {
    {"type", "object"},
    {"required", {"text"}},
    {"properties",
     {{"text",
       {{"type", "string"}, {"description", "UTF-8 text; at most max_input_length code points"}}},
      {"language",
       {{"type", "string"},
        {"default", "english"},
        {"description", "Snowball name or ISO 639-1 code"}}},
      {"tokens", {{"type", "boolean"}, {"default", true}}},
      {"sentences", {{"type", "boolean"}, {"default", true}}}}}};

const nlohmann::json kAnalyzeResponse = {
    {"type", "object"},
    {"properties",
     {{"language", {{"type", "string"}}},
      {"characters", {{"type", "integer"}}},
      {"complexity", {{"type", "object"}}},
      {"sentences", {{"type", "array"}, {"items", {{"type", "object"}}}}},
      {"tokens", {{"type", "array"}, {"items", {{"type", "object"}}}}}}}};

Result<bool> bool_field(const nlohmann::json& j, const char* name, bool fallback) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return fallback;
  if (!it->is_boolean())
    return Status::invalid_argument(std::string("field '") + name + "' must be true or false");
  return it->get<bool>();
}

}  // namespace

namespace {

// The handlers of add_text_routes(), named after their routes' operation ids,
// over what they need.
struct TextHandlers {
  ApiDeps& d;
  const text::Analyzer& analyzer;

  Result<Response> handle_text_analyze(const RequestContext& ctx) const;
  Result<Response> handle_text_languages(const RequestContext&) const;
};

Result<Response> TextHandlers::handle_text_analyze(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto body, http::parse_json_body(ctx.req));
  if (!body.is_object()) return Status::invalid_argument("request body must be a JSON object");
  auto text_it = body.find("text");
  if (text_it == body.end() || !text_it->is_string()) {
    return Status::invalid_argument("field 'text' is required and must be a string");
  }
  std::string language = "english";
  if (auto it = body.find("language"); it != body.end() && !it->is_null()) {
    if (!it->is_string()) return Status::invalid_argument("field 'language' must be a string");
    language = it->get<std::string>();
  }
  ATELIER_ASSIGN_OR_RETURN(bool want_tokens, bool_field(body, "tokens", true));
  ATELIER_ASSIGN_OR_RETURN(bool want_sentences, bool_field(body, "sentences", true));
  const std::string& text = text_it->get_ref<const std::string&>();
  int code_points = 0;
  if (!text::valid_utf8(text, &code_points))
    return Status::invalid_argument("text is not valid UTF-8");
  if (code_points > d.config.max_input_length) {
    return Status::payload_too_large("text has " + std::to_string(code_points) +
                                     " characters; the limit is " +
                                     std::to_string(d.config.max_input_length));
  }
  ATELIER_RETURN_IF_ERROR(ctx.work.check());
  ATELIER_ASSIGN_OR_RETURN(text::Analysis a, analyzer.analyze(text, language));

  nlohmann::ordered_json out;
  out["language"] = a.language;
  out["characters"] = a.complexity.characters;
  const auto& cx = a.complexity;
  auto& c = out["complexity"];
  c["words"] = cx.words;
  c["sentences"] = cx.sentences;
  c["syllables"] = cx.syllables;
  c["unique_words"] = cx.unique_words;
  c["stopwords"] = cx.stopwords;
  c["mean_sentence_length"] = cx.mean_sentence_length;
  c["mean_word_length"] = cx.mean_word_length;
  c["lexical_diversity"] = cx.lexical_diversity;
  c["flesch_reading_ease"] = cx.flesch_reading_ease;
  c["flesch_kincaid_grade"] = cx.flesch_kincaid_grade;
  c["syllable_method"] = "english-heuristic";
  if (want_sentences) {
    auto& arr = out["sentences"] = nlohmann::ordered_json::array();
    for (const auto& s : a.sentences) {
      arr.push_back({{"text", s.text}, {"start", s.start}, {"end", s.end}, {"words", s.words}});
    }
  }
  if (want_tokens) {
    auto& arr = out["tokens"] = nlohmann::ordered_json::array();
    for (const auto& t : a.tokens) {
      arr.push_back({{"text", t.text},
                     {"normalized", t.normalized},
                     {"stem", t.stem},
                     {"type", text::token_type_name(t.type)},
                     {"start", t.start},
                     {"end", t.end},
                     {"stopword", t.stopword}});
    }
  }
  return Response::json_ordered(200, out);
}

Result<Response> TextHandlers::handle_text_languages(const RequestContext&) const {
  nlohmann::ordered_json arr = nlohmann::ordered_json::array();
  for (const auto& l : analyzer.languages()) {
    arr.push_back({{"name", l.name}, {"iso", l.iso}, {"stopwords", l.stopwords}});
  }
  nlohmann::ordered_json out;
  out["languages"] = arr;
  return Response::json_ordered(200, out);
}

}  // namespace

void add_text_routes(http::Router& router, ApiDeps& d, const text::Analyzer& analyzer) {
  const auto h = std::make_shared<const TextHandlers>(TextHandlers{d, analyzer});
  router.add({
      .method = Method::post,
      .path = "/v1/text/analyze",
      .operation_id = "text_analyze",
      .summary = "Tokens, sentences, normalised forms, Snowball stems, stopwords and readability",
      .tag = "text",
      .access = Access::caller,
      .cost = 1,
      .exec = Exec::worker_pool,
      .request_schema = kAnalyzeRequest,
      .response_schema = kAnalyzeResponse,
      .request_example = nlohmann::json::parse(
          R"({"text": "Tweed jackets keep you warm in autumn.", "language": "en"})"),
      .errors = {413},
      .handler = http::bind_handler(h, &TextHandlers::handle_text_analyze),
  });
  router.add({
      .method = Method::get,
      .path = "/v1/text/languages",
      .operation_id = "text_languages",
      .summary =
          "Languages with a Snowball stemmer, their ISO codes and whether stopwords are known",
      .tag = "text",
      .access = Access::caller,
      .response_example = nlohmann::json::parse(
          R"({"languages": [{"name": "english", "iso": "en", "stopwords": true}]})"),
      .handler = http::bind_handler(h, &TextHandlers::handle_text_languages),
  });
}

}  // namespace atelier::api
