// What the wardrobe's route files (routes.cpp: items; outfit_routes.cpp:
// outfits and feedback) share: the JSON shapes of items and evaluations, the
// OpenAPI examples built from them, and the parsing of query and body fields.
#pragma once

#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

#include "http/http.h"
#include "wardrobe/routes.h"

namespace atelier::api::wardrobe_routes {

nlohmann::ordered_json scored_json(const std::optional<wardrobe::Scored>& s);
nlohmann::ordered_json opt_json(const std::optional<std::string>& s);
nlohmann::ordered_json item_json(const wardrobe::Item& it);
// An integer query parameter in [lo, hi] (400 otherwise), `fallback` when absent.
Result<int> int_query(const http::Request& req, const char* name, int fallback, int lo, int hi);
nlohmann::ordered_json scored_items(const std::vector<wardrobe::SimilarItem>& found);
nlohmann::ordered_json evaluation_json(const wardrobe::Evaluation& e);
// A list of item ids in `body[name]` (absent: empty).
Result<std::vector<std::string>> id_list(const nlohmann::json& body, const char* name);
// A number in `obj[name]`, or nullopt when absent or null.
Result<std::optional<double>> number_field(const nlohmann::json& obj, const char* name);
nlohmann::ordered_json feedback_json(const wardrobe::Feedback& f);
// The tag fields a caller may set, and an item's schema, for the OpenAPI document.
extern const nlohmann::json kTagFields;
extern const nlohmann::json kItemSchema;
// An item as the routes answer it (the HTTP test compares its keys with real answers).
extern const nlohmann::json kItemExample;
// `j` with `more`'s keys set.
nlohmann::json with(nlohmann::json j, const nlohmann::json& more);

}  // namespace atelier::api::wardrobe_routes
