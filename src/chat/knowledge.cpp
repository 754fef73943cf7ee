#include "chat/knowledge.h"

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

namespace atelier::chat {

namespace {

// The style roots by topic (WordNet 3.0 noun synset offsets); every synset
// below a root belongs to the first topic that reaches it.
struct Root {
  const char* offset;
  const char* topic;
};
constexpr Root kRoots[] = {
    {"03051540", "clothing"},   // clothing, article of clothing
    {"04550426", "clothing"},   // wardrobe
    {"05750163", "clothing"},   // vogue, trend, style
    {"04930307", "clothing"},   // fit
    {"00618436", "clothing"},   // tailoring
    {"04236377", "clothing"},   // sleeve
    {"03068181", "clothing"},   // collar
    {"03642444", "clothing"},   // lapel
    {"03513627", "clothing"},   // hem
    {"03815278", "clothing"},   // neckline
    {"03380867", "footwear"},   // footwear
    {"03597469", "jewelry"},    // jewelry
    {"03178782", "patterns"},   // design, pattern, figure
    {"03309808", "fabrics"},    // fabric, cloth, material
    {"14866889", "fibers"},     // fiber, fibre
    {"04956594", "color"},      // color, colour
    {"03405725", "furniture"},  // piece of furniture
    {"03579355", "interior"},   // interior decoration, decor
    {"00608354", "interior"},   // interior decoration, interior design
    {"05841351", "interior"},   // architectural style
    {"04118021", "interior"},   // rug, carpet
    {"03151077", "interior"},   // curtain, drape
    {"03636248", "interior"},   // lamp
    {"08465118", "interior"},   // art deco
    {"08465312", "interior"},   // art nouveau
    {"08469233", "interior"},   // minimalism
    {"04699767", "interior"},   // rococo
    {"04698307", "interior"},   // baroque
    {"03777961", "interior"},   // modernism
    {"04513827", "interior"},   // upholstery
    {"15093938", "interior"},   // wallpaper
    {"00578708", "care"},       // laundering
    {"00252169", "care"},       // dry cleaning
    {"14779205", "care"},       // bleach
    {"07313004", "care"},       // shrinkage
    {"04695176", "care"},       // stain
};

struct Synset {
  std::vector<std::string> words;
  std::vector<std::string> hypernyms, hyponyms;  // offsets
  std::string gloss;
};

std::string word_of(std::string w) {
  for (char& c : w)
    if (c == '_') c = ' ';
  return w;
}

}  // namespace

Result<std::vector<Passage>> build_style_glossary(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::not_found("no WordNet nouns at " + path + " (install wordnet-base)");
  std::unordered_map<std::string, Synset> synsets;
  std::vector<std::string> order;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == ' ') continue;  // the licence header
    const auto bar = line.find(" | ");
    std::istringstream f(line.substr(0, bar));
    std::string offset, lex, type, count;
    if (!(f >> offset >> lex >> type >> count) || type != "n")
      return Status::invalid_argument(path + " is not WordNet's data.noun");
    Synset s;
    const int words = std::stoi(count, nullptr, 16);
    for (int i = 0; i < words; ++i) {
      std::string w, id;
      f >> w >> id;
      s.words.push_back(word_of(w));
    }
    int pointers = 0;
    f >> pointers;
    for (int i = 0; i < pointers; ++i) {
      std::string symbol, target, pos, source;
      f >> symbol >> target >> pos >> source;
      if (pos != "n") continue;
      if (symbol == "@" || symbol == "@i") s.hypernyms.push_back(target);
      if (symbol == "~" || symbol == "~i") s.hyponyms.push_back(target);
    }
    if (!f)
      return Status::invalid_argument(
          std::string(path).append(": malformed synset ").append(offset));
    if (bar != std::string::npos) {
      s.gloss = line.substr(bar + 3);
      while (!s.gloss.empty() && (s.gloss.back() == ' ' || s.gloss.back() == '\r'))
        s.gloss.pop_back();
    }
    order.push_back(offset);
    synsets.emplace(offset, std::move(s));
  }
  // Topics: each root's hyponym closure, the first topic to reach a synset wins.
  std::map<std::string, std::string> topic;
  for (const auto& r : kRoots) {
    std::vector<std::string> stack = {r.offset};
    while (!stack.empty()) {
      const std::string o = stack.back();
      stack.pop_back();
      const auto it = synsets.find(o);
      if (it == synsets.end() || !topic.emplace(o, r.topic).second) continue;
      for (const auto& h : it->second.hyponyms) stack.push_back(h);
    }
  }
  std::vector<Passage> out;
  for (const auto& o : order) {
    const auto t = topic.find(o);
    if (t == topic.end()) continue;
    const Synset& s = synsets.at(o);
    Passage p;
    p.id = "wn30-n-" + o;
    p.title = s.words.empty() ? o : s.words[0];
    p.synonyms.assign(s.words.begin() + (s.words.empty() ? 0 : 1), s.words.end());
    p.topic = t->second;
    if (!s.hypernyms.empty()) {
      const auto h = synsets.find(s.hypernyms[0]);
      if (h != synsets.end() && !h->second.words.empty()) p.hypernym = h->second.words[0];
    }
    p.gloss = s.gloss;
    p.text = p.title;
    for (std::size_t i = 0; i < p.synonyms.size(); ++i)
      p.text += (i == 0 ? " (also: " : ", ") + p.synonyms[i];
    if (!p.synonyms.empty()) p.text += ")";
    p.text += ": " + p.gloss;
    if (!p.hypernym.empty()) p.text += " [a kind of " + p.hypernym + "]";
    out.push_back(std::move(p));
  }
  if (out.empty()) return Status::invalid_argument(path + " holds none of the style synsets");
  return out;
}

const char* const kWordNetLicence =
    R"(This software and database is being provided to you, the LICENSEE, by
Princeton University under the following license.  By obtaining, using
and/or copying this software and database, you agree that you have
read, understood, and will comply with these terms and conditions.:

Permission to use, copy, modify and distribute this software and
database and its documentation for any purpose and without fee or
royalty is hereby granted, provided that you agree to comply with
the following copyright notice and statements, including the disclaimer,
and that the same appear on ALL copies of the software, database and
documentation, including modifications that you make for internal
use or for distribution.

WordNet 3.0 Copyright 2006 by Princeton University.  All rights reserved.

THIS SOFTWARE AND DATABASE IS PROVIDED "AS IS" AND PRINCETON
UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES, EXPRESS OR
IMPLIED.  BY WAY OF EXAMPLE, BUT NOT LIMITATION, PRINCETON
UNIVERSITY MAKES NO REPRESENTATIONS OR WARRANTIES OF MERCHANT-
ABILITY OR FITNESS FOR ANY PARTICULAR PURPOSE OR THAT THE USE
OF THE LICENSED SOFTWARE, DATABASE OR DOCUMENTATION WILL NOT
INFRINGE ANY THIRD PARTY PATENTS, COPYRIGHTS, TRADEMARKS OR
OTHER RIGHTS.

The name of Princeton University or Princeton may not be used in
advertising or publicity pertaining to distribution of the software
and/or database.  Title to copyright in this software, database and
any associated documentation shall at all times remain with
Princeton University and LICENSEE agrees to preserve same.)";

}  // namespace atelier::chat
