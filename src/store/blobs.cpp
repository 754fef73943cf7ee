#include "store/blobs.h"

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/sha256.h"

namespace atelier {

namespace {

namespace fs = std::filesystem;

bool valid_hash(const std::string& h) {
  return h.size() == 64 && h.find_first_not_of("0123456789abcdef") == std::string::npos;
}

class FileBlobStore final : public BlobStore {
 public:
  explicit FileBlobStore(std::string root) : root_(std::move(root)) {}

  Result<std::string> put(const std::string& bytes) override {
    const std::string h = sha256_hex(bytes);
    const fs::path p = path_of(h);
    std::error_code ec;
    if (fs::exists(p, ec)) return h;
    fs::create_directories(p.parent_path(), ec);
    if (ec) return Status::unavailable("blob store: " + ec.message());
    const fs::path tmp =
        p.string() + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++);
    {
      std::ofstream out(tmp, std::ios::binary);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      out.flush();
      if (!out) {
        fs::remove(tmp, ec);
        return Status::unavailable("blob store: cannot write " + tmp.string());
      }
    }
    fs::rename(tmp, p, ec);
    if (ec) {
      fs::remove(tmp, ec);
      return Status::unavailable("blob store: " + ec.message());
    }
    return h;
  }

  Result<std::string> get(const std::string& h) override {
    if (!valid_hash(h)) return Status::invalid_argument("not a blob hash");
    std::ifstream in(path_of(h), std::ios::binary);
    if (!in) return Status::not_found("blob " + h + " is missing");
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  Status remove(const std::string& h) override {
    if (!valid_hash(h)) return Status::invalid_argument("not a blob hash");
    std::error_code ec;
    fs::remove(path_of(h), ec);
    return ec ? Status::unavailable("blob store: " + ec.message()) : Status::ok();
  }

  Status remove_unless(const std::string& h, const std::function<Result<bool>()>& in_use) override {
    if (!valid_hash(h)) return Status::invalid_argument("not a blob hash");
    const fs::path p = path_of(h);
    const fs::path aside =
        p.string() + ".gone-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++);
    std::error_code ec;
    fs::rename(p, aside, ec);     // atomic: a put() from now on writes the blob anew
    if (ec) return Status::ok();  // already gone
    const Result<bool> used = in_use();
    if (!used.is_ok() || *used) {
      // Back in place, unless an upload has written it anew meanwhile.
      if (fs::exists(p, ec))
        fs::remove(aside, ec);
      else
        fs::rename(aside, p, ec);
      return used.status();
    }
    fs::remove(aside, ec);
    return ec ? Status::unavailable("blob store: " + ec.message()) : Status::ok();
  }

  bool exists(const std::string& h) override {
    std::error_code ec;
    return valid_hash(h) && fs::exists(path_of(h), ec);
  }

 private:
  fs::path path_of(const std::string& h) const {
    return fs::path(root_) / h.substr(0, 2) / h.substr(2);
  }
  std::string root_;
  std::atomic<std::uint64_t> counter_{0};
};

}  // namespace

std::unique_ptr<BlobStore> open_file_blob_store(const std::string& root) {
  return std::make_unique<FileBlobStore>(root);
}

}  // namespace atelier
