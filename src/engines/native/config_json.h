// Reading the JSON files a Hugging Face model folder ships (config.json,
// tokenizer and pooling configs), shared by the native model loaders.
#pragma once

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "core/status.h"

namespace atelier::engines::native {

// not_found when the file cannot be opened; invalid_argument unless it holds a JSON object.
inline Result<nlohmann::json> read_json_object(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::not_found(path + ": cannot open");
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::invalid_argument(path + ": not a JSON object");
  return j;
}

// Sets `out` from j[key] when present and not null (throws nlohmann's type error otherwise).
template <class T>
void read_field(const nlohmann::json& j, const char* key, T& out) {
  if (j.contains(key) && !j[key].is_null()) out = j[key].get<T>();
}

}  // namespace atelier::engines::native
