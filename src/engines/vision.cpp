#include "engines/vision.h"

#include <algorithm>
#include <cctype>
#include <regex>

namespace atelier::engines {

bool asks_about_outfit(const std::string& question) {
  std::string q = question;
  std::transform(q.begin(), q.end(), q.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  static const std::regex outfit(
      R"((go|goes|going|work|works|look|looks) (well |good |nice )?together)"
      R"(|(outfit|look|clothes|colou?rs)( \w+)? (work|match|clash|go|goes)\b)"
      R"(|\b(is|does) (this|the|her|his|their|my|that) (outfit|look)( \w+)? (good|nice|ok|okay|work|stylish)\b)");
  return std::regex_search(q, outfit);
}

}  // namespace atelier::engines
