// Image intake shared by every image endpoint (vision, embeddings, wardrobe,
// design): sniff the format from the bytes, read the dimensions from the
// header and refuse oversized images *before* decoding (decompression bombs),
// decode, apply the EXIF orientation, and downscale to the configured maximum.
//
// Nothing here knows about HTTP: callers hand over bytes and limits.
// Thread safety: free functions without shared state.
#pragma once

#include <opencv2/core.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "core/mutex.h"
#include "core/status.h"

namespace atelier::image {

enum class Format { jpeg, png, webp };
std::string_view format_name(Format f) noexcept;
std::string_view format_mime(Format f) noexcept;

struct HeaderInfo {
  Format format = Format::jpeg;
  int width = 0;  // as stored, before EXIF orientation
  int height = 0;
  int orientation = 1;  // EXIF orientation 1..8 (JPEG only; 1 elsewhere)
};

// Format and dimensions from the first bytes; never decodes pixel data.
// unsupported_media for anything but JPEG, PNG and WebP; invalid_argument for
// a recognised format whose header is broken or declares 0 pixels.
Result<HeaderInfo> probe(std::string_view bytes);

// Bounds the pixels being decoded at once across requests: a 117 KB PNG may
// declare 6000x6000, and sixteen of them decoded together took 2 GB. A decode
// takes its pixels from the budget before it starts and gives them back once
// its full-size buffer is gone (after the downscale).
//
// Thread safety: all methods may be called concurrently.
class DecodeBudget {
 public:
  explicit DecodeBudget(std::int64_t pixels) : capacity_(pixels) {}
  class Lease {
   public:
    Lease() = default;
    Lease(DecodeBudget* b, std::int64_t n) : b_(b), n_(n) {}
    Lease(Lease&& o) noexcept : b_(std::exchange(o.b_, nullptr)), n_(o.n_) {}
    Lease& operator=(Lease&& o) noexcept {
      if (this != &o) {
        if (b_) b_->release(n_);
        b_ = std::exchange(o.b_, nullptr);
        n_ = o.n_;
      }
      return *this;
    }
    ~Lease() {
      if (b_) b_->release(n_);
    }

   private:
    DecodeBudget* b_ = nullptr;
    std::int64_t n_ = 0;
  };
  // Waits up to `wait` for `pixels` to be free (a request larger than the
  // whole budget waits for it to be empty); unavailable when time runs out.
  Result<Lease> acquire(std::int64_t pixels, std::chrono::milliseconds wait);
  std::int64_t in_use() const;
  std::int64_t capacity() const { return capacity_; }
  std::uint64_t refused() const;

 private:
  void release(std::int64_t pixels);
  const std::int64_t capacity_;
  mutable Mutex mu_;
  CondVar cv_;
  std::int64_t used_ GUARDED_BY(mu_) = 0;
  std::uint64_t refused_ GUARDED_BY(mu_) = 0;
};

struct Limits {
  std::int64_t max_pixels = 40'000'000;  // refused (413) above this, before decoding
  int max_side = 1536;                   // longer side downscaled to this after decoding; 0: keep
  DecodeBudget* budget = nullptr;        // shared across requests; null: unbounded
  std::chrono::milliseconds budget_wait{2000};
};

struct Image {
  cv::Mat bgr;    // 8-bit BGR, upright, at most max_side on the longer side
  int width = 0;  // upright size before downscaling: the caller's coordinate space
  int height = 0;
  double scale = 1.0;  // bgr.cols / width
  HeaderInfo header;
  std::string sha256_hex;  // of the original bytes: the cache key's content part
};

// probe + decode + orientation + downscale. A JPEG much larger than
// max_side is decoded at 1/2, 1/4 or 1/8 scale by libjpeg (never below
// max_side), so its full-size pixels are never held.
Result<Image> decode(std::string_view bytes, const Limits& limits);

// Rotates/flips `m` in place per EXIF orientation (1..8).
void apply_orientation(cv::Mat& m, int orientation);

// cv::cvtColor between BGR/RGB and CIELAB, safe on any thread. OpenCV 4.6
// builds its Lab tables lazily behind an unsynchronised flag: two threads that
// convert first at once both build them, and the loser's tables leak (ASan
// caught it with two design workers). The first call here builds them once,
// under std::call_once, before any conversion runs.
void cvt_lab(const cv::Mat& src, cv::Mat& dst, int code);

}  // namespace atelier::image
