#include "search/porter.h"

#include <string_view>

namespace atelier::search {
namespace {

// The algorithm's state: the word in b, its current end k (inclusive) and
// the end j of the stem before a matched suffix.
class Stemmer {
 public:
  explicit Stemmer(std::string& b) : b_(b), k_(static_cast<int>(b.size()) - 1) {}

  void run() {
    step1ab();
    if (k_ > 0) {
      step1c();
      step2();
      step3();
      step4();
      step5();
    }
    b_.resize(size_through(k_));
  }

 private:
  char at(int i) const { return b_[static_cast<std::size_t>(i)]; }
  // The length of b[0..i]. i >= -1 (-1: nothing left) and below the word's
  // int-sized length, so i + 1 neither overflows nor is negative.
  static std::size_t size_through(int i) {
    const int n = i + 1;
    return static_cast<std::size_t>(n);
  }

  bool cons(int i) const {
    switch (at(i)) {
      case 'a':
      case 'e':
      case 'i':
      case 'o':
      case 'u':
        return false;
      case 'y':
        return i == 0 || !cons(i - 1);
      default:
        return true;
    }
  }
  // The number of vowel-consonant sequences in b[0..j].
  int m() const {
    int n = 0, i = 0;
    for (;; ++i) {
      if (i > j_) return n;
      if (!cons(i)) break;
    }
    ++i;
    for (;;) {
      for (;; ++i) {
        if (i > j_) return n;
        if (cons(i)) break;
      }
      ++i;
      ++n;
      for (;; ++i) {
        if (i > j_) return n;
        if (!cons(i)) break;
      }
      ++i;
    }
  }
  bool vowel_in_stem() const {
    for (int i = 0; i <= j_; ++i)
      if (!cons(i)) return true;
    return false;
  }
  bool double_cons(int i) const { return i >= 1 && at(i) == at(i - 1) && cons(i); }
  // consonant-vowel-consonant ending at i, the last not w, x or y.
  bool cvc(int i) const {
    if (i < 2 || !cons(i) || cons(i - 1) || !cons(i - 2)) return false;
    const char c = at(i);
    return c != 'w' && c != 'x' && c != 'y';
  }
  bool ends(std::string_view s) {
    const int len = static_cast<int>(s.size());
    if (len > k_ + 1) return false;
    if (std::string_view(b_).substr(static_cast<std::size_t>(k_ + 1 - len), s.size()) != s)
      return false;
    j_ = k_ - len;
    return true;
  }
  void set_to(std::string_view s) {
    b_.resize(size_through(j_));
    b_.append(s);
    k_ = j_ + static_cast<int>(s.size());
  }
  void replace_if_m(std::string_view s) {
    if (m() > 0) set_to(s);
  }
  // Replaces the first suffix of `rules` the word ends with (when m() > 0).
  template <std::size_t N>
  void rules(const std::pair<std::string_view, std::string_view> (&r)[N]) {
    for (const auto& [from, to] : r) {
      if (ends(from)) {
        replace_if_m(to);
        return;
      }
    }
  }

  // Plurals and -ed or -ing.
  void step1ab() {
    if (at(k_) == 's') {
      // As in FTS5, "sses", "ies" and "eed" must leave a stem: "ies" -> "ie".
      if (k_ + 1 > 4 && ends("sses")) {
        k_ -= 2;
      } else if (k_ + 1 > 3 && ends("ies")) {
        set_to("i");
      } else if (at(k_ - 1) != 's') {
        --k_;
      }
    }
    if (k_ + 1 > 3 && ends("eed")) {
      if (m() > 0) --k_;
    } else if ((ends("ed") || ends("ing")) && vowel_in_stem()) {
      k_ = j_;
      b_.resize(size_through(k_));
      if (ends("at")) {
        set_to("ate");
      } else if (ends("bl")) {
        set_to("ble");
      } else if (ends("iz")) {
        set_to("ize");
      } else if (double_cons(k_)) {
        --k_;
        const char c = at(k_);
        if (c == 'l' || c == 's' || c == 'z') ++k_;
      } else if (j_ = k_, m() == 1 && cvc(k_)) {
        set_to("e");
      }
    }
  }
  // Terminal y to i when there is another vowel in the stem.
  void step1c() {
    if (ends("y") && vowel_in_stem()) {
      b_.resize(size_through(k_));
      b_[static_cast<std::size_t>(k_)] = 'i';
    }
  }
  // Double suffixes to single ones.
  void step2() {
    if (k_ < 1) return;
    switch (at(k_ - 1)) {
      case 'a':
        rules({{"ational", "ate"}, {"tional", "tion"}});
        break;
      case 'c':
        rules({{"enci", "ence"}, {"anci", "ance"}});
        break;
      case 'e':
        rules({{"izer", "ize"}});
        break;
      case 'l':
        rules({{"bli", "ble"}, {"alli", "al"}, {"entli", "ent"}, {"eli", "e"}, {"ousli", "ous"}});
        break;
      case 'o':
        rules({{"ization", "ize"}, {"ation", "ate"}, {"ator", "ate"}});
        break;
      case 's':
        rules({{"alism", "al"}, {"iveness", "ive"}, {"fulness", "ful"}, {"ousness", "ous"}});
        break;
      case 't':
        rules({{"aliti", "al"}, {"iviti", "ive"}, {"biliti", "ble"}});
        break;
      case 'g':
        rules({{"logi", "log"}});
        break;
      default:
        break;
    }
  }
  // -ic-, -full, -ness and the like.
  void step3() {
    switch (at(k_)) {
      case 'e':
        rules({{"icate", "ic"}, {"ative", ""}, {"alize", "al"}});
        break;
      case 'i':
        rules({{"iciti", "ic"}});
        break;
      case 'l':
        rules({{"ical", "ic"}, {"ful", ""}});
        break;
      case 's':
        rules({{"ness", ""}});
        break;
      default:
        break;
    }
  }
  // -ant, -ence and the like, in context <c>vcvc<v>.
  void step4() {
    if (k_ < 1) return;
    bool found = false;
    auto any = [&](std::initializer_list<std::string_view> list) {
      for (auto s : list)
        if (ends(s)) return true;
      return false;
    };
    switch (at(k_ - 1)) {
      case 'a':
        found = any({"al"});
        break;
      case 'c':
        found = any({"ance", "ence"});
        break;
      case 'e':
        found = any({"er"});
        break;
      case 'i':
        found = any({"ic"});
        break;
      case 'l':
        found = any({"able", "ible"});
        break;
      case 'n':
        found = any({"ant", "ement", "ment", "ent"});
        break;
      case 'o':
        found = (ends("ion") && j_ >= 0 && (at(j_) == 's' || at(j_) == 't')) || ends("ou");
        break;
      case 's':
        found = any({"ism"});
        break;
      case 't':
        found = any({"ate", "iti"});
        break;
      case 'u':
        found = any({"ous"});
        break;
      case 'v':
        found = any({"ive"});
        break;
      case 'z':
        found = any({"ize"});
        break;
      default:
        break;
    }
    if (found && m() > 1) k_ = j_;
  }
  // A final -e, and -ll to -l, when m() > 1.
  void step5() {
    j_ = k_;
    if (at(k_) == 'e') {
      const int a = m();
      if (a > 1 || (a == 1 && !cvc(k_ - 1))) --k_;
    }
    // m() still measures up to the original end, as in Porter's reference.
    if (at(k_) == 'l' && double_cons(k_) && m() > 1) --k_;
  }

  std::string& b_;
  int k_;
  int j_ = 0;
};

}  // namespace

void porter_stem(std::string& word) {
  if (word.size() < 3 || word.size() > 64) return;
  Stemmer(word).run();
}

}  // namespace atelier::search
