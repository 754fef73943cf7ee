#include "tokenize/clip_bpe.h"

#include <unicode/uchar.h>
#include <zlib.h>

#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>

namespace atelier::tokenize {

namespace {

// GPT-2/CLIP's reversible byte -> printable code point table: printable
// Latin-1 bytes map to themselves, the other 68 to U+0100 onwards in order.
void build_byte_encoder(std::string (&enc)[256], std::vector<std::string>* order) {
  std::vector<int> bs;
  for (int b = '!'; b <= '~'; ++b) bs.push_back(b);
  for (int b = 0xA1; b <= 0xAC; ++b) bs.push_back(b);
  for (int b = 0xAE; b <= 0xFF; ++b) bs.push_back(b);
  std::vector<int> cs = bs;
  int n = 0;
  for (int b = 0; b < 256; ++b) {
    if (std::find(bs.begin(), bs.end(), b) == bs.end()) {
      bs.push_back(b);
      cs.push_back(256 + n++);
    }
  }
  for (std::size_t i = 0; i < bs.size(); ++i) {
    enc[bs[i]] = u32_to_utf8(std::u32string(1, static_cast<char32_t>(cs[i])));
    if (order) order->push_back(enc[bs[i]]);
  }
}

Result<std::string> read_gz(const std::string& path) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) return Status::not_found(path + ": cannot open");
  std::string out;
  char buf[65536];
  int n;
  while ((n = gzread(f, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  const bool err = n < 0;
  gzclose(f);
  if (err) return Status::invalid_argument(path + ": not a readable gzip file");
  return out;
}

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(line);
  }
  return out;
}

bool is_letter(char32_t c) {
  return U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_L_MASK;
}
bool is_number(char32_t c) {
  return U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_N_MASK;
}
bool is_space(char32_t c) {
  return u_isUWhiteSpace(static_cast<UChar32>(c));
}

// html.unescape for numeric references and the entities text actually
// carries; applied twice, as the original does.
std::u32string unescape_html(const std::u32string& s) {
  static const std::pair<const char32_t*, char32_t> kNamed[] = {{U"amp", U'&'},   {U"lt", U'<'},
                                                                {U"gt", U'>'},    {U"quot", U'"'},
                                                                {U"apos", U'\''}, {U"nbsp", 0xA0}};
  std::u32string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != U'&') {
      out.push_back(s[i]);
      continue;
    }
    std::size_t semi = s.find(U';', i + 1);
    if (semi != std::u32string::npos && semi - i <= 10) {
      std::u32string name = s.substr(i + 1, semi - i - 1);
      bool done = false;
      if (name.size() > 1 && name[0] == U'#') {
        const bool hex = name[1] == U'x' || name[1] == U'X';
        unsigned long v = 0;
        bool ok = name.size() > (hex ? 2u : 1u);
        for (std::size_t k = hex ? 2 : 1; k < name.size() && ok; ++k) {
          char32_t c = name[k];
          int d = (c >= U'0' && c <= U'9')        ? int(c - U'0')
                  : hex && c >= U'a' && c <= U'f' ? int(c - U'a' + 10)
                  : hex && c >= U'A' && c <= U'F' ? int(c - U'A' + 10)
                                                  : -1;
          if (d < 0) ok = false;
          v = v * (hex ? 16 : 10) + static_cast<unsigned long>(d);
          if (v > 0x10FFFF) ok = false;
        }
        if (ok && v > 0 && !(v >= 0xD800 && v <= 0xDFFF)) {
          out.push_back(static_cast<char32_t>(v));
          done = true;
        }
      } else {
        for (auto& [n, c] : kNamed)
          if (name == n) {
            out.push_back(c);
            done = true;
          }
      }
      if (done) {
        i = semi;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

std::u32string clean(const std::string& text) {
  std::u32string t = unescape_html(unescape_html(nfc(utf8_to_u32(text))));
  std::u32string out;
  bool space = false;
  for (char32_t c : t) {
    if (is_space(c)) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(U' ');
    space = false;
    out.push_back(c);
  }
  return lower(out);
}

bool starts_with(const std::u32string& s, std::size_t i, const std::u32string& p) {
  return s.compare(i, p.size(), p) == 0;
}

}  // namespace

Result<std::unique_ptr<ClipBpe>> ClipBpe::load_simple_vocab(const std::string& bpe_gz) {
  auto text = read_gz(bpe_gz);
  if (!text.is_ok()) return text.status();
  auto lines = lines_of(*text);
  // The original keeps lines [1, 49152 - 256 - 2 + 1): the header line is
  // skipped and the file's tail beyond the vocabulary size is ignored.
  constexpr std::size_t kMerges = 49152 - 256 - 2;
  if (lines.size() < kMerges + 1)
    return Status::invalid_argument(bpe_gz + ": fewer merges than CLIP's 48894");
  auto t = std::make_unique<ClipBpe>(Key{});
  std::vector<std::string> order;
  build_byte_encoder(t->byte_encoder_, &order);
  std::vector<std::string> vocab = order;
  for (auto& v : order) vocab.push_back(v + "</w>");
  for (std::size_t i = 1; i <= kMerges; ++i) {
    const auto& m = lines[i];
    auto sp = m.find(' ');
    if (sp == std::string::npos)
      return Status::invalid_argument(bpe_gz + ": merge line " + std::to_string(i) +
                                      " has no space");
    t->ranks_.emplace(m, static_cast<std::int32_t>(i - 1));
    vocab.push_back(m.substr(0, sp) + m.substr(sp + 1));
  }
  vocab.push_back("<|startoftext|>");
  vocab.push_back("<|endoftext|>");
  for (std::size_t i = 0; i < vocab.size(); ++i)
    t->vocab_.emplace(vocab[i], static_cast<std::int32_t>(i));
  if (Status st = t->finish(); !st.is_ok()) return st;
  return t;
}

Result<std::unique_ptr<ClipBpe>> ClipBpe::load_hf(const std::string& vocab_json,
                                                  const std::string& merges_txt) {
  std::ifstream vj(vocab_json);
  if (!vj) return Status::not_found(vocab_json + ": cannot open");
  auto j = nlohmann::json::parse(vj, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::invalid_argument(vocab_json + ": not a JSON object");
  auto t = std::make_unique<ClipBpe>(Key{});
  build_byte_encoder(t->byte_encoder_, nullptr);
  for (auto& [k, v] : j.items()) {
    if (!v.is_number_integer())
      return Status::invalid_argument(
          std::string(vocab_json).append(": id of '").append(k).append("' is not an integer"));
    t->vocab_.emplace(k, v.get<std::int32_t>());
  }
  std::ifstream mt(merges_txt);
  if (!mt) return Status::not_found(merges_txt + ": cannot open");
  std::stringstream ss;
  ss << mt.rdbuf();
  std::int32_t rank = 0;
  for (auto& m : lines_of(ss.str())) {
    if (m.empty() || m.rfind("#version", 0) == 0) continue;
    if (m.find(' ') == std::string::npos)
      return Status::invalid_argument(merges_txt + ": a merge line has no space");
    t->ranks_.emplace(m, rank++);
  }
  if (Status st = t->finish(); !st.is_ok()) return st;
  return t;
}

Status ClipBpe::finish() {
  auto sot = vocab_.find("<|startoftext|>"), eot = vocab_.find("<|endoftext|>");
  if (sot == vocab_.end() || eot == vocab_.end())
    return Status::invalid_argument("CLIP vocabulary lacks its special tokens");
  sot_ = sot->second;
  eot_ = eot->second;
  return Status::ok();
}

std::vector<std::string> ClipBpe::split(const std::string& text) const {
  static const std::u32string kSpecial[] = {U"<|startoftext|>", U"<|endoftext|>"};
  static const std::u32string kContractions[] = {U"'s", U"'t",  U"'re", U"'ve",
                                                 U"'m", U"'ll", U"'d"};
  const std::u32string s = clean(text);
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t len = 0;
    for (auto& p : kSpecial)
      if (!len && starts_with(s, i, p)) len = p.size();
    for (auto& p : kContractions)
      if (!len && starts_with(s, i, p)) len = p.size();
    if (!len && is_letter(s[i]))
      while (i + len < s.size() && is_letter(s[i + len])) ++len;
    if (!len && is_number(s[i])) len = 1;
    if (!len && !is_space(s[i]))
      while (i + len < s.size() && !is_space(s[i + len]) && !is_letter(s[i + len]) &&
             !is_number(s[i + len]))
        ++len;
    if (!len) {  // whitespace separates tokens and is dropped
      ++i;
      continue;
    }
    out.push_back(u32_to_utf8(s.substr(i, len)));
    i += len;
  }
  return out;
}

void ClipBpe::bpe(const std::string& token, std::vector<std::int32_t>& ids,
                  std::vector<std::string>* pieces) const {
  auto emit = [&](const std::string& sym) {
    auto it = vocab_.find(sym);
    // Every byte symbol is in the vocabulary, so a miss means a broken vocab.json.
    if (it != vocab_.end()) ids.push_back(it->second);
    if (pieces) pieces->push_back(sym);
  };
  if (token == "<|startoftext|>" || token == "<|endoftext|>") return emit(token);
  std::vector<std::string> word;
  for (unsigned char b : token) word.push_back(byte_encoder_[b]);
  if (word.empty()) return;
  word.back() += "</w>";
  while (word.size() > 1) {
    std::int32_t best = std::numeric_limits<std::int32_t>::max();
    std::size_t at = 0;
    for (std::size_t k = 0; k + 1 < word.size(); ++k) {
      auto it = ranks_.find(word[k] + " " + word[k + 1]);
      if (it != ranks_.end() && it->second < best) {
        best = it->second;
        at = k;
      }
    }
    if (best == std::numeric_limits<std::int32_t>::max()) break;
    // Merge every occurrence of the best pair, left to right.
    const std::string first = word[at], second = word[at + 1];
    std::vector<std::string> next;
    for (std::size_t k = 0; k < word.size();) {
      if (k + 1 < word.size() && word[k] == first && word[k + 1] == second) {
        next.push_back(first + second);
        k += 2;
      } else {
        next.push_back(word[k]);
        ++k;
      }
    }
    word.swap(next);
  }
  for (auto& w : word) emit(w);
}

Encoding ClipBpe::encode(const std::string& text, std::size_t context_length) const {
  Encoding e;
  e.ids.push_back(sot_);
  for (auto& tok : split(text)) {
    bpe(tok, e.ids, nullptr);
    if (e.ids.size() >= context_length) break;
  }
  if (context_length >= 2 && e.ids.size() > context_length - 1) {
    e.ids.resize(context_length - 1);
    e.truncated = true;
  }
  e.ids.push_back(eot_);
  return e;
}

std::vector<std::string> ClipBpe::tokenize(const std::string& text) const {
  std::vector<std::int32_t> ids;
  std::vector<std::string> pieces;
  for (auto& tok : split(text)) bpe(tok, ids, &pieces);
  return pieces;
}

}  // namespace atelier::tokenize
