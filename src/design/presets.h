// Style presets for the interior design studio: for each style a positive
// and negative prompt, a palette of named colours, materials, lighting and
// the tone the local engine applies; for each room type the furniture the
// prompt names. The table is versioned: a design records the version its
// prompt came from, so changing a preset never silently changes old jobs.
//
// Thread safety: immutable data; pure functions.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace atelier::design {

inline constexpr const char* kPresetVersion = "2026.11-1";

struct Tone {
  double warmth = 0;      // CIELAB b* shift of whites (+ warmer, - cooler)
  double saturation = 1;  // chroma scale after recolouring
  double contrast = 1;    // L* contrast around 50
  double brightness = 0;  // L* offset
};

struct StylePreset {
  std::string id;  // "scandinavian"
  std::string name;
  std::string prompt;                // style phrase for the positive prompt
  std::string negative;              // added to the shared negative prompt
  std::vector<std::string> palette;  // CSS named colours, main first
  std::vector<std::string> materials;
  std::string lighting;
  Tone tone;
};

struct RoomType {
  std::string id;  // "living_room"
  std::string name;
  std::string furniture;  // what the prompt asks to keep and restyle
};

const std::vector<StylePreset>& styles();
const std::vector<RoomType>& room_types();
const StylePreset* find_style(const std::string& id);
const RoomType* find_room_type(const std::string& id);

struct Prompt {
  std::string positive, negative;
  std::string version = kPresetVersion;
};

// The prompt for a style and room type plus an optional user addition
// (trimmed, at most 500 characters; control characters refused).
Result<Prompt> build_prompt(const std::string& style, const std::string& room_type,
                            const std::string& extra);

}  // namespace atelier::design
