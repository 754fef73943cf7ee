// Rooms and design jobs, as the design studio stores them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/page_cursor.h"

namespace atelier {

// Interior design studio. Ids are opaque strings ("rm_...", "ds_...");
// times are unix milliseconds; image bytes live in the blob store, rows hold
// their content hashes.
struct Room {
  std::string id, owner, name, room_type;
  std::string blob, content_type;
  int width = 0, height = 0;
  std::int64_t created_at = 0;
};

struct Design {
  std::string id, owner;
  std::optional<std::string> room_id;
  std::string input_blob, input_type;
  std::string style, room_type, extra_prompt, prompt, negative_prompt, preset_version;
  double strength = 0.75;
  std::int64_t seed = 0;
  std::string engine;
  std::string status;  // queued | running | succeeded | failed | cancelled
  std::string error;
  std::optional<std::string> output_blob, output_type, control_blob;
  double cost = 0;
  std::string quota_day;  // the UTC day its generation was charged to
  std::optional<std::string> idempotency_key;
  int attempts = 0;
  std::int64_t created_at = 0;
  std::optional<std::int64_t> started_at, finished_at;
  std::string engine_detail;
  std::optional<std::int64_t> canny_low,
      canny_high;  // control thresholds when the caller gave them
  // SHA-256 of the request that created it (with an idempotency key): a
  // retry with the same key and another body is refused, not answered with
  // this job.
  std::string request_hash;
};

struct RoomPage {
  std::vector<Room> items;
  std::optional<PagePosition> next;  // where the next page starts (newest first)
};

struct DesignPage {
  std::vector<Design> items;
  std::optional<PagePosition> next;  // where the next page starts (newest first)
};

}  // namespace atelier
