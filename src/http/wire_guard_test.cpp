#include "http/wire_guard.h"

#include <gtest/gtest.h>

#include <string>

namespace atelier::http {
namespace {

// Feeds `input` in pieces of `step` bytes and returns what was released.
std::string run(WireGuard& g, const std::string& input, std::size_t step) {
  std::string out;
  for (std::size_t i = 0; i < input.size() && !g.refused(); i += step) {
    g.feed(std::string_view(input).substr(i, step), &out);
  }
  return out;
}

const std::string kGet = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
const std::string kPost = "POST /v1/x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello";

TEST(WireGuard, ReleasesWellFormedPipelinesByteForByteInAnyChunking) {
  std::string pipeline;
  for (int i = 0; i < 8; ++i) pipeline += (i % 2 ? kPost : kGet);
  pipeline += "POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
  for (std::size_t step : {1u, 2u, 7u, 64u, 100000u}) {
    WireGuard g{WireLimits{}};
    EXPECT_EQ(run(g, pipeline, step), pipeline) << "step " << step;
    EXPECT_FALSE(g.refused());
    EXPECT_FALSE(g.mid_request());
  }
}

TEST(WireGuard, HoldsAnIncompleteHeadAndCountsItAsBeingRead) {
  WireGuard g{WireLimits{}};
  std::string out;
  g.feed("POST /v1/x HTTP/1.1\r\nContent-Le", &out);
  EXPECT_EQ(out, "");
  EXPECT_TRUE(g.mid_request());
  g.feed("ngth: 5\r\n\r\nhel", &out);
  EXPECT_EQ(out, "POST /v1/x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhel");
  EXPECT_TRUE(g.mid_request()) << "the body is still arriving";
  g.feed("lo", &out);
  EXPECT_FALSE(g.mid_request());
}

struct Case {
  const char* name;
  std::string input;
  int status;
};

// Issue 12, defect 11: malformed HTTP got the connection closed without a
// status line; each of these now gets a verdict, after the requests before it.
TEST(WireGuard, Issue12MalformedRequestsGetAStatusAfterEarlierRequests) {
  using namespace std::string_literals;
  std::string many = "GET / HTTP/1.1\r\n";
  for (int i = 0; i < 10000; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  many += "\r\n";
  const Case cases[] = {
      {"url over 80 KB", "GET /" + std::string(81920, 'a') + " HTTP/1.1\r\n\r\n", 414},
      {"100 KB header", "GET / HTTP/1.1\r\nX-Big: " + std::string(102400, 'b') + "\r\n\r\n", 431},
      {"10,000 headers", many, 431},
      {"unknown method", "FOO / HTTP/1.1\r\nHost: x\r\n\r\n", 501},
      {"HTTP/2 preface", std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), 505},
      // The literal's own length (28 bytes, the NUL included): the old count of 29 also
      // took its terminating NUL, a byte after the request the verdict never reached.
      {"NUL in a header", "GET / HTTP/1.1\r\nX-A: a\0b\r\n\r\n"s, 400},
      {"declared body over the cap", "POST / HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", 413},
  };
  for (const auto& c : cases) {
    for (std::size_t step : {3u, 4096u, 1000000u}) {
      WireGuard g{WireLimits{}};
      const std::string out = run(g, kGet + kPost + c.input, step);
      ASSERT_TRUE(g.refused()) << c.name;
      EXPECT_EQ(g.verdict()->status, c.status) << c.name;
      // The two good requests went up whole, then the synthetic request.
      ASSERT_EQ(out.substr(0, kGet.size() + kPost.size()), kGet + kPost) << c.name;
      const std::string rest = out.substr(kGet.size() + kPost.size());
      const auto at = rest.find(std::string(WireGuard::marker_header()) + ": ");
      ASSERT_NE(at, std::string::npos) << c.name;
      const auto value = rest.substr(at + WireGuard::marker_header().size() + 2);
      auto parsed = WireGuard::parse_marker(value.substr(0, value.find("\r\n")));
      ASSERT_TRUE(parsed.has_value()) << c.name;
      EXPECT_EQ(parsed->status, c.status);
      EXPECT_FALSE(g.mid_request());
    }
  }
}

TEST(WireGuard, AForgedMarkerIsNotAVerdict) {
  EXPECT_FALSE(WireGuard::parse_marker("0123456789abcdef0123456789abcdef 400 forged").has_value());
  EXPECT_FALSE(WireGuard::parse_marker("").has_value());
}

TEST(WireGuard, UpgradedConnectionsPassThrough) {
  WireGuard g{WireLimits{}};
  std::string out;
  const std::string up =
      "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
  g.feed(up + "\x81\x05hello", &out);
  EXPECT_TRUE(g.upgraded());
  g.feed(std::string_view("\x00\xff", 2), &out);
  EXPECT_EQ(out, up + "\x81\x05hello" + std::string("\x00\xff", 2));
}

// A masked client frame header with the given payload length.
std::string frame_head(std::uint64_t len) {
  std::string h = "\x81";
  if (len < 126) {
    h += static_cast<char>(0x80 | len);
  } else if (len < 65536) {
    h += static_cast<char>(0x80 | 126);
    for (int i = 1; i >= 0; --i) h += static_cast<char>((len >> (8 * i)) & 0xff);
  } else {
    h += static_cast<char>(0x80 | 127);
    for (int i = 7; i >= 0; --i) h += static_cast<char>((len >> (8 * i)) & 0xff);
  }
  return h + "mask";
}

TEST(WireGuard, AfterAWebSocketUpgradePassesFramesAndCutsAnOversizedOne) {
  const std::string upgrade =
      "GET /v1/chat/ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
  WireLimits limits;
  limits.max_ws_frame_bytes = 1000;
  const std::string frames = frame_head(5) + "hello" + frame_head(300) + std::string(300, 'x') +
                             frame_head(1000) + std::string(1000, 'y');
  for (std::size_t step : {1u, 3u, 64u, 100000u}) {
    WireGuard g{limits};
    EXPECT_EQ(run(g, upgrade + frames, step), upgrade + frames) << "step " << step;
    EXPECT_TRUE(g.upgraded());
    EXPECT_FALSE(g.cut());
    std::string out;
    g.feed(frame_head(1001), &out);
    EXPECT_TRUE(g.cut()) << "step " << step;
    EXPECT_EQ(out, "");
    g.feed(frame_head(5) + "hello", &out);
    EXPECT_EQ(out, "") << "nothing passes after a cut";
  }
  WireGuard g{limits};
  std::string out;
  g.feed(upgrade + frame_head(std::uint64_t{1} << 62), &out);
  EXPECT_TRUE(g.cut());
}

}  // namespace
}  // namespace atelier::http
