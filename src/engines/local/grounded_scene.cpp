#include "engines/local/grounded_scene.h"

#include <algorithm>
#include <cctype>
#include <iomanip>
#include <map>
#include <regex>
#include <sstream>

namespace atelier::engines {

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string with_article(const std::string& phrase) {
  if (phrase.empty()) return phrase;
  const char c = phrase[0];
  const bool vowel = c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
  return std::string(vowel ? "an " : "a ") + phrase;
}

std::string plural(const std::string& noun) {
  if (noun == "person") return "people";
  if (noun.ends_with("s") || noun.ends_with("sh") || noun.ends_with("ch")) return noun + "es";
  return noun + "s";
}

// Query words -> the object names and types they may refer to.
std::vector<std::string> referents(const std::string& w) {
  static const std::map<std::string, std::vector<std::string>> syn = {
      {"people", {"person"}},
      {"persons", {"person"}},
      {"person", {"person"}},
      {"man", {"person"}},
      {"men", {"person"}},
      {"woman", {"person"}},
      {"women", {"person"}},
      {"child", {"person"}},
      {"children", {"person"}},
      {"sofa", {"couch", "sofa"}},
      {"sofas", {"couch", "sofa"}},
      {"couch", {"couch", "sofa"}},
      {"couches", {"couch", "sofa"}},
      {"table", {"dining table", "desk"}},
      {"tables", {"dining table", "desk"}},
      {"tv", {"tv"}},
      {"television", {"tv"}},
      {"plant", {"potted plant", "plant pot"}},
      {"plants", {"potted plant", "plant pot"}},
      {"bag", {"handbag", "backpack", "suitcase"}},
      {"bags", {"handbag", "backpack", "suitcase"}},
      {"purse", {"handbag"}},
      {"shirt", {"t-shirt", "sweatshirt"}},
      {"tshirt", {"t-shirt"}},
      {"t-shirt", {"t-shirt"}},
      {"jeans", {"jeans"}},
      {"trousers", {"jeans"}},
      {"pants", {"jeans"}},
      {"shoes", {"sneakers", "sandals", "loafers", "clogs", "boots"}},
      {"shoe", {"sneakers", "sandals", "loafers", "clogs", "boots"}},
      {"coat", {"trench coat", "fur coat", "lab coat"}},
      {"top", {"t-shirt", "sweatshirt", "cardigan"}},
      {"dress", {"gown", "abaya", "kimono", "dress"}},
      {"skirt", {"miniskirt", "skirt"}},
      {"jacket", {"suit", "trench coat"}},
  };
  auto it = syn.find(w);
  if (it != syn.end()) return it->second;
  std::vector<std::string> out{w};
  if (w.size() > 3 && w.ends_with("s")) out.push_back(w.substr(0, w.size() - 1));
  return out;
}

bool refers_to(const SceneObject& o, const std::vector<std::string>& names) {
  for (const auto& n : names) {
    if (o.name == n || o.type == n) return true;
  }
  return false;
}

// A garment or furniture type is named only when the classifier was fairly
// sure of it; otherwise the caption says what was detected and its colour.
constexpr float kSureType = 0.45f;

bool sure_type(const SceneObject& o) {
  return !o.type.empty() && o.type_score >= kSureType;
}

// Plural nouns that are already plural ("jeans") or take "pairs of".
bool plural_only(const std::string& noun) {
  return noun == "jeans" || noun == "trousers" || noun == "shorts" || noun == "sandals" ||
         noun == "sneakers" || noun == "boots" || noun == "loafers" || noun == "clogs" ||
         noun == "socks" || noun == "sunglasses" || noun == "pajamas" || noun == "mittens";
}

// "a red t-shirt" / "red jeans": what a person wears, with its article.
std::string garment(const SceneObject& o) {
  const std::string phrase = o.colour.empty() ? o.type : o.colour + " " + o.type;
  return plural_only(o.type) ? phrase : with_article(phrase);
}

// The phrase for `n` objects described alike ("a red chair", "2 red chairs",
// "a person in a red t-shirt", "2 people wearing grey").
std::string describe(const SceneObject& o, int n = 1) {
  const std::string count = n == 1 ? "" : std::to_string(n) + " ";
  if (o.name == "person") {
    std::string who = n == 1 ? "a person" : count + "people";
    if (sure_type(o)) {
      if (n == 1 || plural_only(o.type)) return who + " in " + garment(o);
      return who + " in " + (o.colour.empty() ? "" : o.colour + " ") + plural(o.type);
    }
    if (!o.colour.empty()) return who + " wearing " + o.colour;
    return who;
  }
  const std::string noun = sure_type(o) ? o.type : o.name;
  const std::string phrase = o.colour.empty() ? noun : o.colour + " " + noun;
  if (n == 1) return plural_only(noun) ? phrase : with_article(phrase);
  return count +
         (plural_only(noun) ? phrase : (o.colour.empty() ? "" : o.colour + " ") + plural(noun));
}

// Formality a worn type implies, for "is it casual or formal?"; "" when the
// type says nothing.
std::string formality_of(const std::string& type) {
  static const std::map<std::string, std::string> m = {
      {"t-shirt", "casual"},        {"sweatshirt", "casual"},    {"jeans", "casual"},
      {"sneakers", "casual"},       {"sandals", "casual"},       {"miniskirt", "casual"},
      {"pajamas", "casual"},        {"swimsuit", "casual"},      {"bikini", "casual"},
      {"cardigan", "smart casual"}, {"loafers", "smart casual"}, {"trench coat", "smart casual"},
      {"suit", "formal"},           {"gown", "formal"},          {"tie", "formal"},
      {"bow tie", "formal"},        {"uniform", "formal"}};
  auto it = m.find(type);
  return it == m.end() ? std::string() : it->second;
}

std::string quote_text(const std::string& text) {
  std::string first = text.substr(0, text.find('\n'));
  if (first.size() > 60) first = first.substr(0, 57) + "...";
  return "'" + first + "'";
}

}  // namespace

Result<Description> GroundedSceneDescriber::caption(const SceneFacts& f, const std::string&,
                                                    const WorkContext&) {
  Description d;
  std::vector<const SceneObject*> objs;
  for (const auto& o : f.objects) objs.push_back(&o);
  std::stable_sort(objs.begin(), objs.end(), [](auto* a, auto* b) {
    return a->box.w * a->box.h * a->score > b->box.w * b->box.h * b->score;
  });
  // Group by what is said about them so "2 chairs" is one phrase.
  struct Group {
    std::string key;  // the singular phrase: objects alike share it
    const SceneObject* first;
    int n;
  };
  std::vector<Group> phrases;
  double conf = 0;
  for (const auto* o : objs) {
    std::string p = describe(*o);
    auto it = std::find_if(phrases.begin(), phrases.end(), [&](auto& x) { return x.key == p; });
    if (it == phrases.end()) {
      if (phrases.size() == 4) continue;
      phrases.push_back({p, o, 1});
    } else {
      ++it->n;
    }
    conf += o->score;
    d.evidence.push_back("detected " + o->name + (o->type.empty() ? "" : " (" + o->type + ")") +
                         (o->colour.empty() ? "" : ", " + o->colour) + ", score " +
                         std::to_string(int(o->score * 100)) + "%");
  }
  std::ostringstream s;
  for (std::size_t i = 0; i < phrases.size(); ++i) {
    const std::string item = describe(*phrases[i].first, phrases[i].n);
    if (i == 0)
      s << item;
    else if (i == 1)
      s << " with " << item;
    else
      s << (i + 1 == phrases.size() ? " and " : ", ") << item;
  }
  if (phrases.empty()) {
    if (!f.image_types.empty()) {
      s << "a photo of " << with_article(f.image_types[0]);
      d.evidence.push_back("classified as " + f.image_types[0]);
      conf = 0.5;
    } else if (!f.palette.empty()) {
      s << "an image in mostly " << f.palette[0]
        << (f.palette.size() > 1 ? " and " + f.palette[1] : "") << " tones";
      conf = 0.3;
    } else {
      s << "an image";
      conf = 0.1;
    }
    if (!f.palette.empty()) d.evidence.push_back("dominant colour " + f.palette[0]);
  } else {
    conf /= double(f.objects.size());
  }
  if (!f.text.empty()) {
    s << "; text reads " << quote_text(f.text);
    d.evidence.push_back("OCR read " + quote_text(f.text));
  }
  d.text = s.str();
  d.confidence = float(std::clamp(conf, 0.0, 1.0));
  return d;
}

namespace {

// "unknown", with why.
Description unknown(std::string why) {
  Description d;
  d.text = "unknown";
  d.confidence = 0.05f;
  d.evidence.push_back(std::move(why));
  return d;
}

std::string at_and_score(const SceneObject& o) {
  return "at (" + std::to_string(int(o.box.x)) + "," + std::to_string(int(o.box.y)) + ") score " +
         std::to_string(int(o.score * 100)) + "%";
}

// "Does this outfit work?": the wardrobe's judge on the person's pieces.
Description answer_outfit(const SceneFacts& f) {
  if (!f.outfit)
    return unknown(
        "no person's outfit could be judged (a person at least 80 pixels tall "
        "and two pieces are needed)");
  Description d;
  const auto& o = *f.outfit;
  d.text = o.score >= 0.6 ? "yes" : o.score >= 0.4 ? "mostly" : "no";
  d.confidence = 0.5f;
  std::ostringstream score;
  score << std::fixed << std::setprecision(2) << o.score;
  d.evidence.push_back("outfit score " + score.str() + ": " + o.verdict);
  for (const auto& p : f.outfit_pieces)
    d.evidence.push_back("judged the " + p.category + " at (" + std::to_string(int(p.box.x)) + "," +
                         std::to_string(int(p.box.y)) + ") " + std::to_string(int(p.box.w)) + "x" +
                         std::to_string(int(p.box.h)));
  for (const auto& e : o.explanation) d.evidence.push_back(e);
  return d;
}

// "How many chairs?": the detections the word refers to.
Description answer_count(const std::string& word, const SceneFacts& f) {
  Description d;
  const auto names = referents(word);
  int n = 0;
  for (const auto& o : f.objects) {
    if (!refers_to(o, names)) continue;
    ++n;
    d.evidence.push_back("detected " + o.name + " " + at_and_score(o));
  }
  d.text = std::to_string(n);
  d.confidence = n > 0 ? 0.8f : 0.5f;
  if (n == 0)
    d.evidence.push_back("no " + word + " among " + std::to_string(f.objects.size()) +
                         " detections");
  return d;
}

// "What is she wearing?": each person's garment type, or their colour.
Description answer_wearing(const std::vector<const SceneObject*>& people) {
  Description d;
  std::vector<std::string> said;
  for (const auto* p : people) {
    std::string what;
    if (sure_type(*p)) {
      what = garment(*p);
    } else if (!p->colour.empty()) {
      what = p->colour + " clothes";
    } else {
      continue;
    }
    if (std::find(said.begin(), said.end(), what) == said.end()) said.push_back(what);
    d.evidence.push_back("detected person score " + std::to_string(int(p->score * 100)) + "%" +
                         (sure_type(*p) ? ", classified " + p->type + " " +
                                              std::to_string(int(p->type_score * 100)) + "%"
                                        : std::string()) +
                         (p->colour.empty() ? "" : ", dominant colour " + p->colour));
  }
  if (said.empty())
    return unknown(people.empty() ? "no person was detected"
                                  : "no garment or colour could be read on the people");
  for (std::size_t i = 0; i < said.size(); ++i) d.text += (i ? "; " : "") + said[i];
  d.confidence = 0.6f;
  return d;
}

// "Casual or formal?": the formality most of the recognised garments imply.
Description answer_formality(const std::vector<const SceneObject*>& people) {
  Description d;
  std::map<std::string, int> votes;
  for (const auto* p : people) {
    if (!sure_type(*p)) continue;
    const std::string level = formality_of(p->type);
    if (level.empty()) continue;
    ++votes[level];
    d.evidence.push_back("a person in " + garment(*p) + " (" + level + ")");
  }
  if (votes.empty()) return unknown("no garment whose formality is known was recognised");
  auto best = std::max_element(votes.begin(), votes.end(),
                               [](auto& a, auto& b) { return a.second < b.second; });
  d.text = best->first;
  d.confidence = 0.55f;
  return d;
}

// The first of the image's classified types that the word names, if any.
const std::string* classified_as(const SceneFacts& f, const std::vector<std::string>& names) {
  for (const auto& t : f.image_types)
    if (std::find(names.begin(), names.end(), t) != names.end()) return &t;
  return nullptr;
}

// "What colour is the sofa?": its box's dominant colour, or the image's when
// the image is of one.
Description answer_colour(const std::string& word, const SceneFacts& f) {
  Description d;
  const auto names = referents(word);
  for (const auto& o : f.objects) {
    if (refers_to(o, names) && !o.colour.empty()) {
      d.text = o.colour;
      d.confidence = 0.7f;
      d.evidence.push_back("dominant colour of the detected " + o.name + " box is " + o.colour);
      return d;
    }
  }
  if (f.objects.empty() && !f.palette.empty()) {
    if (const std::string* t = classified_as(f, names)) {
      d.text = f.palette[0];
      d.confidence = 0.5f;
      d.evidence.push_back("image classified as " + *t + "; dominant colour " + f.palette[0]);
      return d;
    }
  }
  return unknown("no " + word + " was detected to take a colour from");
}

// "Is there a plant?": a detection or the image's type.
Description answer_presence(const std::string& word, const SceneFacts& f) {
  Description d;
  const auto names = referents(word);
  for (const auto& o : f.objects) {
    if (refers_to(o, names)) {
      d.text = "yes";
      d.confidence = std::max(0.5f, o.score);
      d.evidence.push_back("detected " + o.name + " score " + std::to_string(int(o.score * 100)) +
                           "%");
      return d;
    }
  }
  if (const std::string* t = classified_as(f, names)) {
    d.text = "yes";
    d.confidence = 0.5f;
    d.evidence.push_back("image classified as " + *t);
    return d;
  }
  d.text = "no";
  d.confidence = 0.5f;
  d.evidence.push_back("no " + word + " among " + std::to_string(f.objects.size()) + " detections");
  return d;
}

// "What does the sign say?": what OCR read.
Description answer_text(const SceneFacts& f) {
  Description d;
  d.confidence = f.text.empty() ? 0.5f : 0.7f;
  d.text = f.text.empty() ? "no readable text" : f.text;
  d.evidence.push_back(f.text.empty() ? "OCR found no text" : "OCR read " + quote_text(f.text));
  return d;
}

}  // namespace

// The question's kind, by pattern, in a fixed order; each kind is answered
// only from what the scene's facts ground.
Result<Description> GroundedSceneDescriber::answer(const std::string& question, const SceneFacts& f,
                                                   const std::string&, const WorkContext&) {
  static const std::regex how_many(R"(how many ([a-z\-]+))");
  static const std::regex what_colour(R"(what colou?r (?:is|are) (?:the |that |this )?([a-z\-]+))");
  static const std::regex is_there(R"((?:is|are) there (?:an? |any |some )?([a-z\-]+))");
  static const std::regex text_q(
      R"((what does|what do) (?:the |this |that )?(text|sign|label|it|words?)( say| read)|what is written|read the text|what text)");
  static const std::regex wearing(
      R"(what (?:is|are) (?:the |that |this |these |those )?(?:person|people|man|men|woman|women|girl|boy|child|children|he|she|they|someone|model) wearing)");
  static const std::regex casual_formal(R"((casual|formal|dressy))");
  const std::string q = lower(question);
  std::smatch m;
  if (asks_about_outfit(question)) return answer_outfit(f);
  if (std::regex_search(q, m, how_many)) return answer_count(m[1], f);
  std::vector<const SceneObject*> people;
  for (const auto& o : f.objects)
    if (o.name == "person") people.push_back(&o);
  if (std::regex_search(q, wearing)) return answer_wearing(people);
  if (std::regex_search(q, casual_formal) && !people.empty()) return answer_formality(people);
  if (std::regex_search(q, m, what_colour)) return answer_colour(m[1], f);
  if (std::regex_search(q, m, is_there)) return answer_presence(m[1], f);
  if (std::regex_search(q, text_q)) return answer_text(f);
  return unknown(
      "the local engine answers only questions it can ground in detections, colours and text");
}

}  // namespace atelier::engines
