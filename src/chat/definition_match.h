// How well a description defines each knowledge passage, for questions that
// ask for a word ("which word means: a loose outer garment worn by priests?").
// Hybrid retrieval finds candidates; this ranks them the way a reverse
// dictionary does: the share of the description's informative words that
// the passage's definition has, each weighted by its IDF over the knowledge
// base, a word the definition lacks counting by its nearest word there in the
// text model's space (so "cloak" meets "mantle"), plus the share of the
// definition's own weight the description covers, plus the retrieval rank.
//
// The three weights were chosen offline on the even half of the 1,011 GCIDE
// questions of tests/http/chat.test.mjs and checked on the odd half (a
// one-off experiment: the right passage first for 0.311 of the odd half,
// retrieval order alone 0.289; in the first five 0.465 against 0.457); the
// test measures all of them.
//
// Thread safety: immutable once built; score() may be called concurrently.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "chat/knowledge.h"
#include "core/cancel.h"
#include "core/status.h"
#include "engines/embedder.h"
#include "text/analyzer.h"

namespace atelier::chat {

class DefinitionMatcher {
 public:
  // Stems and IDF from `analyzer`, the definitions' words embedded once with
  // `embedder` (which must outlive the matcher).
  static Result<std::unique_ptr<DefinitionMatcher>> build(const std::vector<Passage>& passages,
                                                          const text::Analyzer& analyzer,
                                                          const engines::TextEmbedder& embedder,
                                                          const WorkContext& work);

  struct Scores {
    std::vector<double> score;  // per id of `ranked`: higher defines it better
    double best_cover = 0;      // the most of the description any passage covers, in [0, 1]
  };
  // One score per id of `ranked` (best retrieved first; an id that is not a
  // passage scores by its rank alone) for how well `description` defines it.
  Result<Scores> score(const std::string& description, const std::vector<std::string>& ranked,
                       const WorkContext& work) const;

  struct Entry {
    std::vector<std::string> stems;  // the definition's content stems, each once
    std::vector<int> words;          // its content words, rows of vectors_
    double weight = 0;               // the stems' summed IDF
  };

 private:
  struct Passkey {};

 public:
  DefinitionMatcher(Passkey, const text::Analyzer& analyzer, const engines::TextEmbedder& embedder)
      : analyzer_(analyzer), embedder_(embedder) {}

 private:
  struct Word {
    std::string stem, form;  // a negated word: "!" + stem, no form
  };
  // The content words of `text`: words that are not stopwords, 2+ letters;
  // the first one after "without", "no", "not" or "lacking" is negated.
  Result<std::vector<Word>> content_words(const std::string& text) const;
  double idf(const std::string& stem) const;

  const text::Analyzer& analyzer_;
  const engines::TextEmbedder& embedder_;
  std::unordered_map<std::string, Entry> entries_;  // by passage id
  std::unordered_map<std::string, int> df_;         // passages per stem
  double passages_ = 0;
  std::vector<std::vector<float>> vectors_;  // by word index
};

}  // namespace atelier::chat
