// Everything a user owns, across capabilities, for export and deletion.
// Each capability that stores data for an owner registers one Part with the
// composition root; GET /v1/me/export and DELETE /v1/me walk the parts, so a
// new capability's data is covered by registering, not by editing the
// account routes.
//
// Thread safety: add() before the server starts; parts() concurrently after.
// A Part's functions are called from worker threads and must be thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "core/status.h"

namespace atelier {

struct UserDataPart {
  std::string name;  // the key of this part in the export ("collections", "rooms", ...)
  // `owner` is the identity id ("user:7", or "key:3" for a key without a user).
  std::function<Result<nlohmann::ordered_json>(const std::string& owner)> export_all;
  // Deletes everything of `owner` for good (rows, files, index entries).
  std::function<Status(const std::string& owner)> erase_all;
};

class UserDataRegistry {
 public:
  void add(UserDataPart part) { parts_.push_back(std::move(part)); }
  const std::vector<UserDataPart>& parts() const { return parts_; }

 private:
  std::vector<UserDataPart> parts_;
};

}  // namespace atelier
