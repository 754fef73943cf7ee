// The local chat engine's answer composer: no language model, only the
// retrieved passages. Every sentence it writes is either a verbatim span of a
// passage it cites (with an inline [n] marker) or a fixed connective template
// over the passages' fields, so an answer can say nothing its sources do not.
// When no passage is about the question it says so instead of guessing.
//
// Thread safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace atelier::chat {

// A retrieved passage, as the composer reads it.
struct Retrieved {
  std::string id;
  std::string collection;
  std::string title;                  // "" for a document without one
  std::vector<std::string> synonyms;  // other names it answers to
  std::string hypernym;               // "" when unknown
  std::string text;                   // the passage, verbatim
  double score = 0;                   // fused retrieval score
  std::optional<int> bm25_rank, vector_rank;
};

struct Cited {
  int n = 0;  // the [n] marker
  Retrieved source;
};

struct Composed {
  std::string text;          // sentences with [n] markers
  std::vector<Cited> cited;  // in marker order
  bool found = false;        // false: nothing relevant, the text says so
};

// The sentence used when nothing relevant was retrieved.
inline constexpr const char* kNothingFound =
    "I found nothing about that in the knowledge I can search, so I cannot answer it.";

// `retrieved` best first. Definitions ("what is tweed"), comparisons ("tweed
// vs flannel", "difference between A and B") and lists ("kinds of boots").
// When `ranked_as_definitions` (the caller ordered the passages by how well
// the question describes them: "which word means ...", "which fabric is made
// from flax?"), the first passage answers; a question that asks for a word
// otherwise gets the best of the first five by shared words.
Composed compose(const std::string& question, const std::vector<Retrieved>& retrieved,
                 bool ranked_as_definitions = false);

// Whether a question describes something and asks for its name ("which word
// means ...", "what do you call ...", "the term for ...").
bool asks_for_the_word(const std::string& question);

// "From your wardrobe, the navy blazer [1] goes best with the white jeans [2]
// and the brown loafers [3]." and the evaluation's sentences about them.
// `anchor` and `matches` are the wardrobe items as retrieved (collection
// "wardrobe", title = the item's label).
Composed compose_wardrobe(const Retrieved& anchor, const std::vector<Retrieved>& matches,
                          const std::vector<std::string>& explanation);

// Whether a question asks about the asker's own clothes ("what goes with my
// navy blazer?", "what should I wear with my white jeans").
bool asks_about_own_clothes(const std::string& question);

// The words of a text, lower-cased, letters and digits only (for matching
// titles against questions).
std::vector<std::string> words_of(const std::string& text);
// Where the words of `name` start, adjacent and in order, among `question`'s
// words (a plural names its singular: "boots" names "boot"); -1 when absent.
int mention(const std::vector<std::string>& question, const std::string& name);

}  // namespace atelier::chat
