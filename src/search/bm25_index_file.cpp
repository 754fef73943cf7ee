// Bm25Index's file: save() writes the postings, lengths and ids with the
// collection version they reflect; load() reads them back only for that
// version, refusing counts the file cannot hold.
#include <cstring>
#include <fstream>

#include "search/bm25_index.h"

namespace atelier::search {

namespace {
constexpr char kMagic[8] = {'A', 'T', 'B', 'M', '2', '5', '\0', '\1'};

template <class T>
void put(std::ofstream& out, T v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof v);
}
void put_string(std::ofstream& out, const std::string& s) {
  put<std::uint32_t>(out, static_cast<std::uint32_t>(s.size()));
  out.write(s.data(), static_cast<std::streamsize>(s.size()));
}
template <class T>
void put_array(std::ofstream& out, const std::vector<T>& v) {
  put<std::uint64_t>(out, v.size());
  out.write(reinterpret_cast<const char*>(v.data()),
            static_cast<std::streamsize>(v.size() * sizeof(T)));
}

// Reads what save() wrote, refusing counts the file cannot hold.
class Reader {
 public:
  Reader(std::ifstream& in, std::uint64_t size) : in_(in), left_(size) {}
  template <class T>
  bool get(T* v) {
    if (left_ < sizeof(T)) return false;
    in_.read(reinterpret_cast<char*>(v), sizeof(T));
    left_ -= sizeof(T);
    return static_cast<bool>(in_);
  }
  bool get_string(std::string* s) {
    std::uint32_t n = 0;
    if (!get(&n) || n > left_) return false;
    s->resize(n);
    in_.read(s->data(), n);
    left_ -= n;
    return static_cast<bool>(in_);
  }
  template <class T>
  bool get_array(std::vector<T>* v) {
    std::uint64_t n = 0;
    if (!get(&n) || n > left_ / sizeof(T)) return false;
    v->resize(n);
    in_.read(reinterpret_cast<char*>(v->data()), static_cast<std::streamsize>(n * sizeof(T)));
    left_ -= n * sizeof(T);
    return static_cast<bool>(in_);
  }
  std::uint64_t left() const { return left_; }

 private:
  std::ifstream& in_;
  std::uint64_t left_;
};
}  // namespace

Status Bm25Index::save(const std::string& path, std::int64_t version) const {
  ReaderLock lock(mu_);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::unavailable("cannot write " + path);
  out.write(kMagic, sizeof kMagic);
  put<std::int64_t>(out, version);
  // Live documents only, renumbered: a saved index has no tombstones.
  std::vector<std::uint32_t> remap(ids_.size(), kEnd);
  std::uint32_t live = 0;
  for (std::uint32_t o = 0; o < ids_.size(); ++o)
    if (live_[o]) remap[o] = live++;
  put<std::uint64_t>(out, live);
  for (std::uint32_t o = 0; o < ids_.size(); ++o) {
    if (!live_[o]) continue;
    put_string(out, ids_[o]);
    put<std::uint32_t>(out, lengths_[o]);
  }
  std::uint64_t nterms = 0;
  for (const auto& p : postings_) nterms += p.df > 0 ? 1 : 0;
  put<std::uint64_t>(out, nterms);
  std::vector<std::uint32_t> docs, tfs;
  for (std::size_t t = 0; t < postings_.size(); ++t) {
    const Postings& p = postings_[t];
    if (p.df == 0) continue;
    docs.clear();
    tfs.clear();
    for (std::size_t i = 0; i < p.docs.size(); ++i) {
      if (remap[p.docs[i]] == kEnd) continue;
      docs.push_back(remap[p.docs[i]]);
      tfs.push_back(p.tfs[i]);
    }
    put_string(out, terms_[t]);
    put_array(out, docs);
    put_array(out, tfs);
  }
  out.close();
  if (!out) return Status::unavailable("cannot write " + path);
  return Status::ok();
}

Result<std::unique_ptr<Bm25Index>> Bm25Index::load(const std::string& path, std::int64_t version,
                                                   Bm25Params params) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return Status::not_found("no BM25 index file");
  const auto size = static_cast<std::uint64_t>(in.tellg());
  in.seekg(0);
  Reader r(in, size);
  char magic[sizeof kMagic];
  std::int64_t saved = -1;
  for (char& c : magic)
    if (!r.get(&c)) return Status::not_found("BM25 index file is truncated");
  if (!std::equal(std::begin(magic), std::end(magic), std::begin(kMagic)) || !r.get(&saved))
    return Status::not_found("not a BM25 index file");
  if (saved != version) return Status::not_found("BM25 index file is stale");
  auto idx = std::make_unique<Bm25Index>(params);
  WriterLock lock(idx->mu_);  // no other thread sees it yet; held so the fills are checked
  const auto corrupt = [&] { return Status::not_found("BM25 index file is corrupt: " + path); };
  std::uint64_t ndocs = 0;
  if (!r.get(&ndocs) || ndocs > r.left() / 8 || ndocs >= kEnd) return corrupt();
  idx->ids_.resize(ndocs);
  idx->lengths_.resize(ndocs);
  idx->live_.assign(ndocs, 1);
  for (std::uint64_t o = 0; o < ndocs; ++o) {
    if (!r.get_string(&idx->ids_[o]) || !r.get(&idx->lengths_[o])) return corrupt();
    if (!idx->ordinal_of_.emplace(idx->ids_[o], static_cast<std::uint32_t>(o)).second)
      return corrupt();
    idx->live_length_ += idx->lengths_[o];
  }
  std::uint64_t nterms = 0;
  if (!r.get(&nterms) || nterms > r.left() / 20) return corrupt();
  std::vector<std::uint32_t> docs, tfs;
  for (std::uint64_t t = 0; t < nterms; ++t) {
    std::string term;
    if (!r.get_string(&term) || !r.get_array(&docs) || !r.get_array(&tfs) ||
        docs.size() != tfs.size() || docs.empty())
      return corrupt();
    const auto id = static_cast<std::uint32_t>(t);
    if (!idx->term_ids_.emplace(term, id).second) return corrupt();
    idx->terms_.push_back(std::move(term));
    idx->postings_.emplace_back();
    for (std::size_t i = 0; i < docs.size(); ++i) {
      if (docs[i] >= ndocs || (i > 0 && docs[i] <= docs[i - 1]) || tfs[i] == 0) return corrupt();
      idx->append_posting(id, docs[i], tfs[i], idx->lengths_[docs[i]]);
    }
    idx->postings_[id].df = static_cast<std::uint32_t>(docs.size());
  }
  idx->rebuild_doc_terms_locked();
  return idx;
}

}  // namespace atelier::search
