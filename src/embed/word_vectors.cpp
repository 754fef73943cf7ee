#include "embed/word_vectors.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace atelier::embed {

Result<std::unique_ptr<WordVectors>> WordVectors::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Status::unavailable("cannot open word vectors " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    ::close(fd);
    return Status::unavailable("cannot stat " + path);
  }
  const auto size = static_cast<std::size_t>(st.st_size);
  void* map = size ? ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0) : MAP_FAILED;
  ::close(fd);
  if (map == MAP_FAILED) return Status::unavailable("cannot map " + path);
  auto wv = std::make_unique<WordVectors>(Passkey{});
  wv->map_ = map;
  wv->map_size_ = size;

  const auto* base = static_cast<const unsigned char*>(map);
  auto corrupt = [&](const std::string& why) {
    return Status::invalid_argument(path + ": " + why);
  };
  if (size < 16 || std::memcmp(base, "ATLWVEC1", 8) != 0)
    return corrupt("not an atelier word-vector file");
  std::memcpy(&wv->count_, base + 8, 4);
  std::memcpy(&wv->dim_, base + 12, 4);
  if (wv->dim_ == 0 || wv->dim_ > 4096 || wv->count_ == 0) return corrupt("implausible header");
  std::size_t off = 16;
  wv->index_.reserve(wv->count_);
  for (std::uint32_t i = 0; i < wv->count_; ++i) {
    if (off + 2 > size) return corrupt("truncated word list");
    std::uint16_t len;
    std::memcpy(&len, base + off, 2);
    off += 2;
    if (off + len > size) return corrupt("truncated word list");
    wv->index_.emplace(std::string_view(reinterpret_cast<const char*>(base + off), len), i);
    off += len;
  }
  off = (off + 3) / 4 * 4;
  const std::size_t floats = (std::size_t(wv->count_) + 1) * wv->dim_;
  if (off + floats * 4 != size) return corrupt("size does not match the header");
  wv->vectors_ = reinterpret_cast<const float*>(base + off);
  wv->common_ = wv->vectors_ + std::size_t(wv->count_) * wv->dim_;
  return wv;
}

WordVectors::~WordVectors() {
  if (map_) ::munmap(map_, map_size_);
}

std::int64_t WordVectors::rank(std::string_view word) const {
  auto it = index_.find(word);
  return it == index_.end() ? -1 : static_cast<std::int64_t>(it->second);
}

}  // namespace atelier::embed
