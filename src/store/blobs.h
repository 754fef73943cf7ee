// Content-addressed blob store for uploads and generated images: a blob is
// named by the SHA-256 of its bytes and stored at <root>/ab/cdef... (never a
// user-supplied path). Writing the same bytes twice stores them once.
// Writes go to a temporary file that is renamed into place, so a reader
// never sees half a blob.
//
// Thread safety: every method may be called concurrently.
#pragma once

#include <functional>
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

  // Removes a blob unless `in_use` (asked after the blob is moved aside)
  // says a row uses it; then it is put back. With uploads that write their
  // row before their blob, an upload of the same bytes racing a deletion
  // cannot lose its blob: either the collector sees the row, or the upload
  // finds no blob and writes it anew. An error from `in_use` keeps the blob.
  virtual Status remove_unless(const std::string& hash,
                               const std::function<Result<bool>()>& in_use) = 0;
};

std::unique_ptr<BlobStore> open_file_blob_store(const std::string& root);

}  // namespace atelier
