// SHA-256 (OpenSSL) as lower-case hex: content addresses for blobs and
// cached results, API key digests, request fingerprints.
#pragma once

#include <string>
#include <string_view>

namespace atelier {

// Thread-safe; needs no initialisation.
std::string sha256_hex(std::string_view data);

}  // namespace atelier
