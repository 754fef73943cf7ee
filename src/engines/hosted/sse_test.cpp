#include "engines/hosted/sse.h"

#include <gtest/gtest.h>

namespace atelier::engines {
namespace {

TEST(Sse, EventsComeOutWholeHoweverTheBytesAreSplit) {
  const std::string stream =
      ": ping\r\n\r\ndata: {\"a\":1}\n\nevent: error\ndata: one\ndata: two\n\ndata: [DONE]\n\n";
  for (std::size_t step : {1, 2, 3, 7, 1000}) {
    SseParser p;
    std::vector<SseEvent> all;
    for (std::size_t i = 0; i < stream.size(); i += step) {
      auto got = p.feed(std::string_view(stream).substr(i, step));
      all.insert(all.end(), got.begin(), got.end());
    }
    ASSERT_EQ(all.size(), 3u) << "step " << step;
    EXPECT_EQ(all[0].data, "{\"a\":1}");
    EXPECT_EQ(all[1].event, "error");
    EXPECT_EQ(all[1].data, "one\ntwo");
    EXPECT_EQ(all[2].data, "[DONE]");
    EXPECT_EQ(p.pending(), 0u);
  }
}

}  // namespace
}  // namespace atelier::engines
