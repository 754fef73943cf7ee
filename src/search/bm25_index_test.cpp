#include "search/bm25_index.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>

namespace atelier::search {
namespace {

TEST(Bm25Terms, Fts5PorterUnicode61Tokens) {
  EXPECT_EQ(bm25_terms("Running, RUNS; the café's Ångström α-helix 3.5"),
            (std::vector<std::string>{"run", "run", "the", "cafe", "s", "angstrom", "α", "helix",
                                      "3", "5"}));
  EXPECT_TRUE(bm25_terms("  ... --- !!").empty());
  // FTS5's Porter: suffix rules keep a stem ("ies" -> "ie"), short words stay.
  EXPECT_EQ(bm25_terms("agreed ies sses eed happy hopping filing assembly technology as is"),
            (std::vector<std::string>{"agre", "ie", "sse", "e", "happi", "hop", "file", "assembl",
                                      "technolog", "as", "is"}));
  EXPECT_EQ(bm25_terms("\xff\xfe broken utf8"), (std::vector<std::string>{"broken", "utf8"}));
}

// The reference: every posting scored, with the same formula and tie rule.
struct Reference {
  struct Doc {
    std::vector<std::string> terms;
    std::uint64_t seq;
  };
  std::map<std::string, Doc> docs;
  std::uint64_t seq = 0;

  std::vector<Bm25Hit> search(const std::vector<std::string>& q, int k,
                              const std::function<bool(const std::string&)>& keep) const {
    const double n = static_cast<double>(docs.size());
    double total = 0;
    for (const auto& [id, d] : docs) total += static_cast<double>(d.terms.size());
    const double avgdl = std::max(1e-9, total / n);
    std::map<std::string, double> dfs;
    for (const auto& t : q) {
      double& df = dfs[t];
      df = 0;
      for (const auto& [_, o] : docs) df += std::count(o.terms.begin(), o.terms.end(), t) > 0;
    }
    std::vector<std::tuple<double, std::uint64_t, std::string>> all;
    for (const auto& [id, d] : docs) {
      double s = 0;
      bool any = false;
      for (const auto& t : q) {
        const double df = dfs.at(t);
        const double tf = static_cast<double>(std::count(d.terms.begin(), d.terms.end(), t));
        if (tf == 0) continue;
        any = true;
        double idf = std::log((n - df + 0.5) / (df + 0.5));
        if (idf <= 0) idf = 1e-6;
        const double len = static_cast<double>(d.terms.size());
        s += idf * (tf * (1.2 + 1) / (tf + 1.2 * (1 - 0.75 + 0.75 * len / avgdl)));
      }
      if (any && (!keep || keep(id))) all.emplace_back(-s, d.seq, id);
    }
    std::sort(all.begin(), all.end());
    std::vector<Bm25Hit> out;
    for (std::size_t i = 0; i < all.size() && static_cast<int>(i) < k; ++i)
      out.push_back({std::get<2>(all[i]), -std::get<0>(all[i])});
    return out;
  }
};

void expect_same(const std::vector<Bm25Hit>& got, const std::vector<Bm25Hit>& want,
                 const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i].score, want[i].score, 1e-9 * std::max(1.0, want[i].score)) << what;
    EXPECT_EQ(got[i].id, want[i].id) << what << " rank " << i;
  }
}

TEST(Bm25Index, BlockMaxWandEqualsScoringEveryPostingThroughUpdatesDeletesAndFilters) {
  // Zipf-like words so that some lists span many blocks and others are short.
  std::mt19937 rng(7);
  std::vector<std::string> vocab;
  for (int i = 0; i < 300; ++i) vocab.push_back("w" + std::to_string(i));
  std::vector<double> zipf;
  for (int i = 0; i < 300; ++i) zipf.push_back(1.0 / (i + 1));
  std::discrete_distribution<int> word(zipf.begin(), zipf.end());
  std::uniform_int_distribution<int> len(0, 40);
  auto text = [&] {
    std::string s;
    for (int n = len(rng); n > 0; --n) s += vocab[static_cast<std::size_t>(word(rng))] + " ";
    return s;
  };
  Bm25Index idx;
  Reference ref;
  auto upsert = [&](const std::string& id) {
    const std::string t = text();
    idx.upsert(id, t);
    ref.docs[id] = {bm25_terms(t), ref.seq++};
  };
  for (int i = 0; i < 1500; ++i) upsert("d" + std::to_string(i));
  std::uniform_int_distribution<int> pick(0, 1499);
  auto keep = [](const std::string& id) { return id.back() % 3 != 0; };
  for (int round = 0; round < 4; ++round) {
    for (int q = 0; q < 40; ++q) {
      std::vector<std::string> terms;
      for (int n = 1 + q % 6; n > 0; --n)
        terms.push_back(vocab[static_cast<std::size_t>(word(rng))]);
      for (int k : {1, 10, 100}) {
        const std::string what = "round " + std::to_string(round) + " query " + std::to_string(q) +
                                 " k " + std::to_string(k);
        expect_same(idx.search(terms, k), ref.search(terms, k, {}), what);
        if (q % 4 == 0)
          expect_same(idx.search(terms, k, keep), ref.search(terms, k, keep), what + " filtered");
      }
    }
    // Replace and delete a third, enough to compact between rounds.
    for (int i = 0; i < 500; ++i) {
      const std::string id = "d" + std::to_string(pick(rng));
      if (i % 2) {
        upsert(id);
      } else {
        EXPECT_EQ(idx.remove(id), ref.docs.erase(id) == 1);
      }
    }
    EXPECT_EQ(idx.size(), ref.docs.size());
  }
  EXPECT_TRUE(idx.search({"nothing-here"}, 10).empty());
  EXPECT_TRUE(idx.search({vocab[0]}, 0).empty());
}

TEST(Bm25Index, SavedAndLoadedIndexAnswersTheSameAndRefusesStaleOrCorruptFiles) {
  Bm25Index idx;
  for (int i = 0; i < 300; ++i)
    idx.upsert("d" + std::to_string(i), "alpha beta " + std::string(i % 7, 'g') + " gamma" +
                                            std::to_string(i % 11) + " delta");
  idx.remove("d3");
  idx.upsert("d4", "replaced alpha alpha");
  const auto dir = std::filesystem::temp_directory_path() /
                   ("bm25-test-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "c.bm25").string();
  ASSERT_TRUE(idx.save(path, 42).is_ok());
  auto loaded = Bm25Index::load(path, 42);
  ASSERT_TRUE(loaded.is_ok()) << loaded.status().message();
  EXPECT_EQ((*loaded)->size(), idx.size());
  for (const std::vector<std::string>& q :
       {std::vector<std::string>{"alpha"}, {"gamma3", "delta"}, {"replac", "beta", "ggg"}}) {
    expect_same((*loaded)->search(q, 20), idx.search(q, 20), q[0]);
  }
  EXPECT_EQ(Bm25Index::load(path, 41).status().code(), Code::not_found);  // stale
  {
    std::ofstream cut(path, std::ios::binary | std::ios::in | std::ios::out);
    cut.seekp(40);
    cut.write("\xff\xff\xff\xff\xff\xff\xff\x7f", 8);
  }
  EXPECT_EQ(Bm25Index::load(path, 42).status().code(), Code::not_found);  // corrupt
  std::filesystem::resize_file(path, 30);
  EXPECT_EQ(Bm25Index::load(path, 42).status().code(), Code::not_found);  // truncated
  std::filesystem::remove_all(dir);
}

// Golden parity with what the index replaces: SQLite FTS5 with the porter
// unicode61 remove_diacritics 2 tokenizer and bm25(), on SciFact abstracts.
TEST(Bm25Index, RanksSciFactAsSqliteFts5Does) {
  const std::string data = ATELIER_SOURCE_DIR "/../shared/data/retrieval/scifact";
  std::ifstream corpus(data + "/corpus.jsonl"), queries(data + "/queries.jsonl");
  if (!corpus || !queries) GTEST_SKIP() << "SciFact is not beside the checkout";
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(":memory:", &raw), SQLITE_OK);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
  ASSERT_EQ(sqlite3_exec(db.get(),
                         "CREATE VIRTUAL TABLE t USING fts5(id UNINDEXED, text, tokenize='porter "
                         "unicode61 remove_diacritics 2')",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db.get(), "INSERT INTO t(id, text) VALUES (?, ?)", -1, &ins, nullptr);
  Bm25Index idx;
  int n = 0;
  for (std::string line; n < 2000 && std::getline(corpus, line); ++n) {
    auto d = nlohmann::json::parse(line);
    const std::string id = d["_id"],
                      text = d["title"].get<std::string>() + ". " + d["text"].get<std::string>();
    sqlite3_bind_text(ins, 1, id.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(ins, 2, text.c_str(), -1, SQLITE_TRANSIENT);
    ASSERT_EQ(sqlite3_step(ins), SQLITE_DONE);
    sqlite3_reset(ins);
    idx.upsert(id, text);
  }
  sqlite3_finalize(ins);
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db.get(),
                     "SELECT id, -bm25(t) FROM t WHERE t MATCH ? ORDER BY bm25(t), rowid LIMIT 10",
                     -1, &q, nullptr);
  int compared = 0;
  for (std::string line; compared < 300 && std::getline(queries, line);) {
    const std::string text = nlohmann::json::parse(line)["text"];
    // Each run of ASCII letters and digits, quoted and OR-ed: one FTS5 token each.
    std::string match, word;
    bool ascii = true;
    for (char c : text + " ") {
      if (static_cast<unsigned char>(c) >= 0x80) ascii = false;
      if (std::isalnum(static_cast<unsigned char>(c))) {
        word += c;
      } else if (!word.empty()) {
        match += (match.empty() ? "\"" : " OR \"") + word + "\"";
        word.clear();
      }
    }
    if (!ascii || match.empty()) continue;
    sqlite3_bind_text(q, 1, match.c_str(), -1, SQLITE_TRANSIENT);
    std::vector<Bm25Hit> want;
    while (sqlite3_step(q) == SQLITE_ROW) {
      want.push_back(
          {reinterpret_cast<const char*>(sqlite3_column_text(q, 0)), sqlite3_column_double(q, 1)});
    }
    sqlite3_reset(q);
    const auto got = idx.search(bm25_terms(text), 10);
    ASSERT_EQ(got.size(), want.size()) << text;
    for (std::size_t i = 0; i < got.size(); ++i) {
      EXPECT_NEAR(got[i].score, want[i].score, 1e-6 * std::max(1.0, want[i].score)) << text;
    }
    ++compared;
  }
  sqlite3_finalize(q);
  EXPECT_GE(compared, 250);
}

}  // namespace
}  // namespace atelier::search
