// Content-addressed blob store for uploads and generated images: a blob is
// named by the SHA-256 of its bytes and stored at <root>/ab/cdef... (never a
// user-supplied path). Writing the same bytes twice stores them once.
// Writes go to a temporary file that is renamed into place, so a reader
// never sees half a blob.
//
// Thread safety: every method may be called concurrently.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"

namespace atelier {

class BlobStore {
 public:
  virtual ~BlobStore() = default;
  virtual Result<std::string> put(const std::string& bytes) = 0;  // returns the hash
  virtual Result<std::string> get(const std::string& hash) = 0;
  virtual Status remove(const std::string& hash) = 0;  // missing is fine
  virtual bool exists(const std::string& hash) = 0;
};

std::unique_ptr<BlobStore> open_file_blob_store(const std::string& root);

}  // namespace atelier
