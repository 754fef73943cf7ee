// The raw request stream of a connection, split into reads at places the
// input chooses: the guard must never crash, and when it refuses nothing, it
// must release exactly the bytes it was given, in order.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "http/wire_guard.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t step = 1 + data[0] % 64;
  const std::string input(reinterpret_cast<const char*>(data + 1), size - 1);
  atelier::http::WireLimits limits;
  limits.max_url_bytes = 256;  // small, so the fuzzer reaches the limits
  limits.max_header_bytes = 1024;
  limits.max_header_count = 16;
  limits.max_body_bytes = 4096;
  limits.max_ws_frame_bytes = 512;  // after an upgrade, frames are metered
  atelier::http::WireGuard g(limits);
  std::string out;
  for (std::size_t i = 0; i < input.size() && !g.refused() && !g.cut(); i += step) {
    g.feed(std::string_view(input).substr(i, step), &out);
  }
  // An upgraded connection passes its bytes in order until a frame is cut.
  if (g.upgraded() && !g.cut() && out != input) std::abort();
  if (!g.refused() && !g.upgraded() && !g.mid_request()) {
    // Everything was released in order, except blank lines before a next
    // request (which the HTTP library would skip anyway).
    if (input.compare(0, out.size(), out) != 0) std::abort();
    if (input.find_first_not_of("\r\n", out.size()) != std::string::npos) std::abort();
  }
  if (g.refused() && (g.verdict()->status < 400 || g.verdict()->status > 505)) std::abort();
  return 0;
}
