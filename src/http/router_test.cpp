#include "http/router.h"

#include <gtest/gtest.h>

#include "http/openapi.h"
#include "http/problem.h"

namespace atelier::http {
namespace {

RouteSpec route(Method m, std::string path) {
  RouteSpec r;
  r.method = m;
  r.path = std::move(path);
  r.operation_id = r.path;
  r.handler = [](const RequestContext&) -> Result<Response> { return Response::json(200, {}); };
  return r;
}

TEST(Router, MatchesStaticTemplatedAndMethods) {
  Router router;
  router.add(route(Method::get, "/v1/keys"));
  router.add(route(Method::post, "/v1/keys"));
  router.add(route(Method::del, "/v1/keys/{id}"));
  router.add(route(Method::get, "/v1/keys/{id}/usage"));

  auto m = router.match(Method::post, "/v1/keys");
  ASSERT_EQ(m.kind, Match::found);
  EXPECT_EQ(m.route->method, Method::post);

  m = router.match(Method::del, "/v1/keys/42");
  ASSERT_EQ(m.kind, Match::found);
  EXPECT_EQ(m.params.at("id"), "42");

  m = router.match(Method::get, "/v1/keys/a%20b/usage");
  ASSERT_EQ(m.kind, Match::found);
  EXPECT_EQ(m.params.at("id"), "a b");

  m = router.match(Method::put, "/v1/keys");
  EXPECT_EQ(m.kind, Match::method_not_allowed);
  EXPECT_EQ(m.allow, "GET, POST");

  EXPECT_EQ(router.match(Method::get, "/v1/keys/42/other").kind, Match::not_found);
  EXPECT_EQ(router.match(Method::get, "/v1").kind, Match::not_found);
  EXPECT_EQ(router.match(Method::head, "/v1/keys").kind, Match::found);
}

TEST(OpenApi, EveryRouteIsDocumentedWithProblemResponses) {
  Router router;
  auto r = route(Method::post, "/v1/things/{id}");
  r.access = Access::user;
  r.cost = 3;
  r.request_schema = {{"type", "object"}};
  router.add(r);
  router.add(route(Method::get, "/health"));
  auto doc = build_openapi(router, "1.2.3");
  EXPECT_EQ(doc["openapi"], "3.1.0");
  const auto& op = doc["paths"]["/v1/things/{id}"]["post"];
  EXPECT_EQ(op["x-atelier-cost"], 3);
  EXPECT_EQ(op["parameters"][0]["name"], "id");
  EXPECT_TRUE(op["responses"].contains("401"));
  EXPECT_TRUE(op["responses"].contains("413"));
  EXPECT_EQ(op["responses"]["429"]["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem");
  EXPECT_TRUE(doc["paths"]["/health"].contains("get"));
}

TEST(Problem, MapsEveryCodeOnce) {
  EXPECT_EQ(http_status(Code::invalid_argument), 400);
  EXPECT_EQ(http_status(Code::unauthenticated), 401);
  EXPECT_EQ(http_status(Code::permission_denied), 403);
  EXPECT_EQ(http_status(Code::not_found), 404);
  EXPECT_EQ(http_status(Code::already_exists), 409);
  EXPECT_EQ(http_status(Code::payload_too_large), 413);
  EXPECT_EQ(http_status(Code::unsupported_media), 415);
  EXPECT_EQ(http_status(Code::resource_exhausted), 429);
  EXPECT_EQ(http_status(Code::internal), 500);
  EXPECT_EQ(http_status(Code::unavailable), 503);
  EXPECT_EQ(http_status(Code::deadline_exceeded), 504);
  auto r = problem(Status::unauthenticated("nope"), "rid-1");
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.content_type, "application/problem+json");
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["detail"], "nope");
  EXPECT_EQ(body["request_id"], "rid-1");
  EXPECT_EQ(body["title"], "Unauthorized");
  EXPECT_TRUE(r.has_header("WWW-Authenticate"));
}

TEST(Problem, JsonBodyParsingRefusesHostileInput) {
  Request req;
  req.headers = {{"Content-Type", "application/json; charset=utf-8"}};
  req.body = R"({"a":[1,2,{"b":"[[[["}]})";
  EXPECT_TRUE(parse_json_body(req).is_ok());
  req.body = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(parse_json_body(req).status().code(), Code::invalid_argument);
  req.body = "{\"a\":";
  EXPECT_EQ(parse_json_body(req).status().code(), Code::invalid_argument);
  req.body = "";
  EXPECT_EQ(parse_json_body(req).status().code(), Code::invalid_argument);
  req.headers = {{"Content-Type", "text/plain"}};
  req.body = "{}";
  EXPECT_EQ(parse_json_body(req).status().code(), Code::unsupported_media);
  req.headers = {};
  EXPECT_EQ(parse_json_body(req).status().code(), Code::unsupported_media);
}

TEST(Request, HeadersAndQuery) {
  Request req;
  req.headers = {{"X-Api-Key", "k"}};
  req.query = "q=red+dress&k=10&empty=&enc=%2Fa%26b";
  EXPECT_EQ(req.header("x-api-key"), "k");
  std::string v;
  ASSERT_TRUE(req.query_param("q", &v));
  EXPECT_EQ(v, "red dress");
  ASSERT_TRUE(req.query_param("enc", &v));
  EXPECT_EQ(v, "/a&b");
  ASSERT_TRUE(req.query_param("empty", &v));
  EXPECT_EQ(v, "");
  EXPECT_FALSE(req.query_param("missing", &v));
}

// Issue 12, defect 3: the server decoded the path and the router decoded
// each parameter again, so "x%2541" named "xA" instead of "x%41".
TEST(Router, Issue12PathParametersAreDecodedOnce) {
  Router router;
  router.add(route(Method::del, "/v1/collections/{name}/documents/{id}"));
  auto m = router.match(Method::del, "/v1/collections/c/documents/x%2541");
  ASSERT_EQ(m.kind, Match::found);
  EXPECT_EQ(m.params["id"], "x%41");
  m = router.match(Method::del, "/v1/collections/c/documents/a%2Fb");
  ASSERT_EQ(m.kind, Match::found) << "an encoded slash stays inside its segment";
  EXPECT_EQ(m.params["id"], "a/b");
  m = router.match(Method::del, "/v1/collections/c/documents/keep%00junk");
  ASSERT_EQ(m.kind, Match::found);
  EXPECT_EQ(m.params["id"], std::string("keep\0junk", 9));
}

}  // namespace
}  // namespace atelier::http

namespace atelier::http {
namespace {

TEST(RoundForAnswer, SixSignificantDigitsAtEveryMagnitude) {
  EXPECT_EQ(nlohmann::json(round_for_answer(102.62211538461541)).dump(), "102.622");
  EXPECT_EQ(nlohmann::json(round_for_answer(0.000123456789)).dump(), "0.000123457");
  EXPECT_EQ(nlohmann::json(round_for_answer(-3.14159265)).dump(), "-3.14159");
  // Large values are divided by an exact power of ten, never multiplied by an inexact one.
  EXPECT_EQ(nlohmann::json(round_for_answer(1234567891234567.0)).dump(), "1.23457e+15");
  EXPECT_EQ(round_for_answer(0.0), 0.0);
  EXPECT_EQ(round_for_answer(5.0), 5.0);
}

TEST(RoundForAnswer, StoredMetadataAndContextComeBackAsStored) {
  const nlohmann::json j = {
      {"score", 0.123456789},
      {"hits", {{{"metadata", {{"lat", 51.5073509}}}, {"score", 1.23456789}}}},
      {"context", {{"weight", 0.987654321}}}};
  const auto body = nlohmann::json::parse(Response::json(200, j).body);
  EXPECT_EQ(body["score"], 0.123457);
  EXPECT_EQ(body["hits"][0]["score"], 1.23457);
  EXPECT_EQ(body["hits"][0]["metadata"]["lat"], 51.5073509);
  EXPECT_EQ(body["context"]["weight"], 0.987654321);
}

}  // namespace
}  // namespace atelier::http
