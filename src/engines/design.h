// The design engine seam: restyle a room photo toward a style while keeping
// its layout. The local engine (engines/local/recolor) recolours on this
// machine; hosted engines (Replicate, Hugging Face Inference Endpoints) run
// SDXL + ControlNet elsewhere. The design service picks one per request from
// configuration and never sees which.
//
// Thread safety: generate() may be called concurrently.
#pragma once

#include <opencv2/core.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"

namespace atelier::engines {

struct LabColor {
  double L = 0, a = 0, b = 0;
};

struct DesignRequest {
  cv::Mat bgr;              // the room, decoded and upright
  std::string image_bytes;  // the same, as uploaded (hosted engines send it)
  std::string image_type;   // its media type
  cv::Mat control;          // Canny edge map (8-bit, 255 = edge), same size as bgr
  std::string prompt, negative;
  std::vector<LabColor> palette;                                    // target colours, main first
  double warmth = 0, saturation = 1, contrast = 1, brightness = 0;  // the style's tone
  double strength = 0.75;  // 0 keeps the photo, 1 goes all the way
  std::uint64_t seed = 0;
};

struct DesignResult {
  std::string image;          // encoded bytes
  std::string content_type;   // image/png, image/jpeg, ...
  std::string engine_detail;  // e.g. the hosted prediction id
};

class DesignEngine {
 public:
  virtual ~DesignEngine() = default;
  virtual const std::string& name() const = 0;
  virtual Result<DesignResult> generate(const DesignRequest& req, const WorkContext& work) = 0;
};

}  // namespace atelier::engines
