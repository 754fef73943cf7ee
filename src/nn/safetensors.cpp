#include "nn/safetensors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <nlohmann/json.hpp>

namespace atelier::nn {

namespace {

struct DTypeName {
  const char* name;
  DType dtype;
  std::size_t size;
};
constexpr DTypeName kDTypes[] = {
    {"F64", DType::f64, 8},      {"F32", DType::f32, 4}, {"F16", DType::f16, 2},
    {"BF16", DType::bf16, 2},    {"I64", DType::i64, 8}, {"I32", DType::i32, 4},
    {"I16", DType::i16, 2},      {"I8", DType::i8, 1},   {"U8", DType::u8, 1},
    {"BOOL", DType::boolean, 1},
};

// Safetensors caps the header at 100 MB; anything larger is not a checkpoint.
constexpr std::uint64_t kMaxHeader = 100'000'000;

}  // namespace

std::string_view dtype_name(DType d) noexcept {
  for (auto& t : kDTypes)
    if (t.dtype == d) return t.name;
  return "?";
}
std::size_t dtype_size(DType d) noexcept {
  for (auto& t : kDTypes)
    if (t.dtype == d) return t.size;
  return 0;
}

std::int64_t TensorInfo::numel() const {
  std::int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

std::string shape_string(const std::vector<std::int64_t>& shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "," : "") + std::to_string(shape[i]);
  return s + "]";
}

float half_to_float(std::uint16_t h) noexcept {
  const std::uint32_t sign = (h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1f;
  std::uint32_t man = h & 0x3ffu;
  std::uint32_t bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      exp = 127 - 15 + 1;
      while (!(man & 0x400u)) {
        man <<= 1;
        --exp;
      }
      man &= 0x3ffu;
      bits = sign | (exp << 23) | (man << 13);
    }
  } else if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (man << 13);
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
  }
  return std::bit_cast<float>(bits);
}

float bf16_to_float(std::uint16_t h) noexcept {
  return std::bit_cast<float>(static_cast<std::uint32_t>(h) << 16);
}

namespace {

// One tensor's header entry (`t` names it in errors), checked against the
// data area: a known dtype, a plausible shape, offsets inside the area that
// hold exactly the shape's bytes.
Result<TensorInfo> read_entry(const std::string& t, const nlohmann::json& v,
                              const std::uint8_t* data, std::size_t data_size) {
  if (!v.is_object() || !v.contains("dtype") || !v.contains("shape") || !v.contains("data_offsets"))
    return Status::invalid_argument(t + "needs dtype, shape and data_offsets");
  const auto& dt = v["dtype"];
  const DTypeName* found = nullptr;
  if (dt.is_string())
    for (auto& d : kDTypes)
      if (dt.get<std::string>() == d.name) found = &d;
  if (!found) return Status::invalid_argument(t + "unsupported dtype " + dt.dump());
  TensorInfo info{found->dtype, {}, nullptr, 0};
  if (!v["shape"].is_array()) return Status::invalid_argument(t + "shape is not an array");
  std::uint64_t numel = 1;
  for (auto& d : v["shape"]) {
    if (!d.is_number_unsigned())
      return Status::invalid_argument(t + "shape holds a non-natural number");
    const auto dim = d.get<std::uint64_t>();
    if (dim > (1ull << 40) || (dim && numel > (1ull << 40) / dim))
      return Status::invalid_argument(t + "shape is implausibly large");
    numel *= dim;
    info.shape.push_back(static_cast<std::int64_t>(dim));
  }
  const auto& off = v["data_offsets"];
  if (!off.is_array() || off.size() != 2 || !off[0].is_number_unsigned() ||
      !off[1].is_number_unsigned())
    return Status::invalid_argument(t + "data_offsets must be two natural numbers");
  const auto b = off[0].get<std::uint64_t>(), e = off[1].get<std::uint64_t>();
  if (b > e || e > data_size)
    return Status::invalid_argument(t + "data_offsets [" + std::to_string(b) + "," +
                                    std::to_string(e) + "] lie outside the " +
                                    std::to_string(data_size) + "-byte data area");
  if (e - b != numel * found->size)
    return Status::invalid_argument(t + "holds " + std::to_string(e - b) + " bytes but " +
                                    std::string(found->name) + shape_string(info.shape) +
                                    " needs " + std::to_string(numel * found->size));
  info.data = data + b;
  info.bytes = e - b;
  return info;
}

}  // namespace

SafeTensors::~SafeTensors() {
  if (map_) ::munmap(map_, size_);
}

Result<std::unique_ptr<SafeTensors>> SafeTensors::open(const std::string& path) {
  const std::string where = path + ": ";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::not_found(where + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Status::internal(where + std::strerror(errno));
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  if (size < 8) {
    ::close(fd);
    return Status::invalid_argument(
        where + "not a safetensors file (shorter than its 8-byte header length)");
  }
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return Status::internal(where + "mmap failed: " + std::strerror(errno));
  auto st_file = std::make_unique<SafeTensors>(Key{});
  st_file->path_ = path;
  st_file->map_ = map;
  st_file->size_ = size;
  ::madvise(map, size, MADV_WILLNEED);

  const auto* base = static_cast<const std::uint8_t*>(map);
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | base[i];
  if (n == 0 || n > kMaxHeader || n > size - 8)
    return Status::invalid_argument(where + "header length " + std::to_string(n) +
                                    " does not fit the file (" + std::to_string(size) + " bytes)");
  auto header = nlohmann::json::parse(base + 8, base + 8 + n, nullptr, false);
  if (header.is_discarded() || !header.is_object())
    return Status::invalid_argument(where + "header is not a JSON object");
  const std::uint8_t* data = base + 8 + n;
  const std::size_t data_size = size - 8 - n;

  std::vector<std::pair<std::size_t, std::size_t>> spans;
  for (auto& [name, v] : header.items()) {
    if (name == "__metadata__") {
      if (!v.is_object()) return Status::invalid_argument(where + "__metadata__ is not an object");
      for (auto& [k, mv] : v.items())
        if (mv.is_string()) st_file->metadata_[k] = mv.get<std::string>();
      continue;
    }
    std::string t = where;
    t.append("tensor '").append(name).append("': ");
    ATELIER_ASSIGN_OR_RETURN(TensorInfo info, read_entry(t, v, data, data_size));
    const auto b = static_cast<std::size_t>(info.data - data);
    spans.emplace_back(b, b + info.bytes);
    st_file->tensors_.emplace(name, std::move(info));
  }
  std::sort(spans.begin(), spans.end());
  for (std::size_t i = 1; i < spans.size(); ++i)
    if (spans[i].first < spans[i - 1].second)
      return Status::invalid_argument(where + "tensors overlap");
  return st_file;
}

const TensorInfo* SafeTensors::find(const std::string& name) const {
  auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

std::vector<std::string> SafeTensors::names() const {
  std::vector<std::string> out;
  for (auto& [k, v] : tensors_) out.push_back(k);
  return out;
}

Result<std::vector<float>> SafeTensors::load_f32(const std::string& name,
                                                 const std::vector<std::int64_t>& shape) const {
  const TensorInfo* t = find(name);
  if (!t)
    return Status::invalid_argument(path_ + ": missing tensor '" + name + "' " +
                                    shape_string(shape));
  if (t->shape != shape)
    return Status::invalid_argument(path_ + ": tensor '" + name + "' has shape " +
                                    shape_string(t->shape) + " but the config expects " +
                                    shape_string(shape));
  const auto n = static_cast<std::size_t>(t->numel());
  std::vector<float> out(n);
  switch (t->dtype) {
    case DType::f32:
      std::memcpy(out.data(), t->data, n * 4);
      break;
    case DType::f16:
    case DType::bf16: {
      const bool half = t->dtype == DType::f16;
      for (std::size_t i = 0; i < n; ++i) {
        std::uint16_t h;
        std::memcpy(&h, t->data + 2 * i, 2);
        out[i] = half ? half_to_float(h) : bf16_to_float(h);
      }
      break;
    }
    case DType::f64:
      for (std::size_t i = 0; i < n; ++i) {
        double d;
        std::memcpy(&d, t->data + 8 * i, 8);
        out[i] = static_cast<float>(d);
      }
      break;
    default:
      return Status::invalid_argument(path_ + ": tensor '" + name + "' has dtype " +
                                      std::string(dtype_name(t->dtype)) +
                                      "; weights must be F32, F16, BF16 or F64");
  }
  return out;
}

}  // namespace atelier::nn
