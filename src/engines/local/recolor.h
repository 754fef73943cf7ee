// The local design engine: restyles a room by recolouring it toward the
// style's palette in CIELAB while keeping its layout. Superpixels (SLIC,
// OpenCV contrib) split the room into regions that follow its edges; each
// region is matched to a palette colour (by lightness and hue, with a seeded
// jitter so different seeds give different, equally valid assignments); its
// chroma moves toward that colour by `strength` and its lightness a little,
// so texture and edges stay. The per-region shift is smoothed by a guided
// filter on the photo (no seams inside flat regions, sharp at real edges),
// then the style's tone (warmth, saturation, contrast, brightness) applies.
//
// Deterministic: the same image, request and seed give the same PNG bytes.
// Work is done at most `work_side` pixels on the long side and the smooth
// shift field is upsampled, so cost grows slowly with resolution.
//
// Thread safety: generate() may be called concurrently (no shared state).
#pragma once

#include <string>

#include "engines/design.h"

namespace atelier::engines {

class RecolorEngine final : public DesignEngine {
 public:
  explicit RecolorEngine(int work_side = 384) : work_side_(work_side) {}
  const std::string& name() const override { return name_; }
  Result<DesignResult> generate(const DesignRequest& req, const WorkContext& work) override;

 private:
  Result<DesignResult> run(const DesignRequest& req, const WorkContext& work);
  std::string name_ = "local";
  int work_side_;
};

}  // namespace atelier::engines
