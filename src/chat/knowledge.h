// The default style knowledge base: WordNet 3.0 noun synsets in the style
// domains (clothing and its parts, footwear, jewellery, fabrics, fibres,
// colour, patterns, furniture, interior decoration and architectural styles,
// garment care), built from Debian's wordnet-base (/usr/share/wordnet/
// data.noun) at first start, never shipped as data. WordNet's licence
// (WordNet 3.0, permissive) travels with it: kWordNetLicence.
//
// Each passage is one synset: its first word as the title, the other words as
// synonyms, its gloss verbatim (with WordNet's quoted examples) and its first
// hypernym, written as "title (also: a, b): gloss [a kind of hypernym]".
//
// Thread safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"

namespace atelier::chat {

struct Passage {
  std::string id;  // "wn30-n-<synset offset>"
  std::string title;
  std::vector<std::string> synonyms;
  std::string topic;  // clothing, footwear, jewelry, patterns, fabrics, fibers, color, ...
  std::string hypernym;
  std::string gloss;
  std::string text;
};

// Every synset below the style roots, in WordNet's file order; invalid_argument
// for a file that is not WordNet's data.noun, not_found when it is missing.
Result<std::vector<Passage>> build_style_glossary(const std::string& data_noun_path);

// Where Debian's wordnet-base keeps the nouns.
inline constexpr const char* kWordNetNouns = "/usr/share/wordnet/data.noun";

// The notice WordNet's licence asks to accompany copies (as Debian ships it).
extern const char* const kWordNetLicence;

}  // namespace atelier::chat
