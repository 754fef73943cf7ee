// Reader for the safetensors format (Hugging Face): an 8-byte little-endian
// header length, a JSON header mapping tensor names to {dtype, shape,
// data_offsets}, then the raw little-endian tensor bytes. The file is
// memory-mapped and validated once at open (offsets inside the data area,
// byte counts equal to shape x dtype size, no overlaps), so tensor views can
// be read without further checks.
//
// Thread safety: immutable after open(); any number of readers.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/status.h"

namespace atelier::nn {

enum class DType { f64, f32, f16, bf16, i64, i32, i16, i8, u8, boolean };
std::string_view dtype_name(DType d) noexcept;
std::size_t dtype_size(DType d) noexcept;

struct TensorInfo {
  DType dtype;
  std::vector<std::int64_t> shape;
  const std::uint8_t* data = nullptr;  // inside the mapping
  std::size_t bytes = 0;
  std::int64_t numel() const;
};

std::string shape_string(const std::vector<std::int64_t>& shape);

class SafeTensors {
 public:
  // invalid_argument with the file name and what is wrong for a malformed
  // file; not_found when it does not exist.
  static Result<std::unique_ptr<SafeTensors>> open(const std::string& path);
  ~SafeTensors();
  SafeTensors(const SafeTensors&) = delete;
  SafeTensors& operator=(const SafeTensors&) = delete;

  const TensorInfo* find(const std::string& name) const;
  std::vector<std::string> names() const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }

  // The tensor as fp32 (f32 copied; f16, bf16 and f64 converted), after
  // checking that it exists and has exactly `shape`. The errors name the
  // tensor, the file and both shapes, so a checkpoint that does not match its
  // config.json is refused with a message a user can act on.
  Result<std::vector<float>> load_f32(const std::string& name,
                                      const std::vector<std::int64_t>& shape) const;

 private:
  struct Key {};  // only open() constructs

 public:
  explicit SafeTensors(Key) {}

 private:
  std::string path_;
  void* map_ = nullptr;
  std::size_t size_ = 0;
  std::map<std::string, TensorInfo> tensors_;
  std::map<std::string, std::string> metadata_;
};

// IEEE half and bfloat16 to float, exact.
float half_to_float(std::uint16_t h) noexcept;
float bf16_to_float(std::uint16_t h) noexcept;

}  // namespace atelier::nn
