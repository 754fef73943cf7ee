// bench/search: latency (p50, p99) and throughput at concurrency 1 and 16 of
// atelier's search modes on BEIR SciFact and on 100,000 synthetic documents,
// beside SQLite FTS5 (what BM25 ran on before search/bm25_index.h) queried
// directly in the same run, over the same documents, with the same terms (the
// baseline). Targets at 100k documents: hybrid p99 <= 15 ms at concurrency 1,
// and >= 10x FTS5's QPS at concurrency 16.
//
// Usage: build/bench/bench_search [synthetic documents = 100000]  (models/ and ../shared/data
// beside the checkout)
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "embed/glove_sif.h"
#include "search/collection_repository.h"
#include "search/service.h"
#include "store/database.h"
#include "store/migrations.h"

extern "C" void openblas_set_num_threads(int);

using namespace atelier;
using Clock = std::chrono::steady_clock;

namespace {

// The FTS5 query atelier used to send: the query's distinct words (stop
// words dropped unless nothing else is left, at most 32), quoted, OR-ed.
std::string fts5_match(const text::Analyzer& analyzer, const std::string& q) {
  auto a = analyzer.analyze(q, "english");
  if (!a.is_ok()) return {};
  std::vector<std::string> content, stop;
  std::set<std::string> seen;
  for (const auto& t : a->tokens) {
    if (t.type != text::TokenType::word && t.type != text::TokenType::number) continue;
    if (!seen.insert(t.normalized).second) continue;
    (t.stopword ? stop : content).push_back(t.normalized);
  }
  const auto& terms = content.empty() ? stop : content;
  std::string m;
  for (std::size_t i = 0; i < terms.size() && i < 32; ++i) {
    std::string quoted = "\"";
    for (char c : terms[i]) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
    m += (m.empty() ? "" : " OR ") + quoted + "\"";
  }
  return m;
}

struct Figures {
  double p50_ms, p99_ms, qps;
};

template <typename F>
Figures measure(const std::vector<std::string>& queries, int concurrency, F&& one) {
  std::vector<double> lat(queries.size());
  std::atomic<std::size_t> next{0};
  const auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < concurrency; ++c) {
    threads.emplace_back([&, c] {
      for (std::size_t i; (i = next.fetch_add(1)) < queries.size();) {
        const auto t = Clock::now();
        one(queries[i], c);
        lat[i] = std::chrono::duration<double, std::milli>(Clock::now() - t).count();
      }
    });
  }
  for (auto& t : threads) t.join();
  const double total = std::chrono::duration<double>(Clock::now() - t0).count();
  std::sort(lat.begin(), lat.end());
  return {lat[lat.size() / 2], lat[std::min(lat.size() - 1, lat.size() * 99 / 100)],
          queries.size() / total};
}

// One data set in its own database: ingest, then every mode at concurrency 1
// and 16 beside FTS5 queried directly with the same MATCH strings.
int run_set(const char* title, const std::vector<search::IngestDocument>& docs,
            const std::vector<std::string>& queries, const text::Analyzer& analyzer,
            const engines::EmbedderRegistry& registry) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("atelier-bench-search-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string db = (dir / "bench.db").string();
  auto database = std::move(db::open_database("sqlite:" + db, 20)).value();
  (void)database->migrate(schema_migrations());
  CollectionRepository store(*database);
  const engines::ImageModels no_images;
  search::SearchService svc(store, registry, no_images, analyzer,
                            {5, 1.0, 0.1, 100, 20000, 1000000, 32, ""});
  const search::Caller bench{"bench", true, false};
  (void)svc.create("set", bench, "glove-sif-100d");
  auto t = Clock::now();
  auto ing = svc.ingest("set", docs, bench, {});
  std::printf(
      "\n%s: %zu documents ingested in %.1f s (embedding, rows, BM25 and vector indexes), "
      "%zu queries\n",
      title, docs.size(), std::chrono::duration<double>(Clock::now() - t).count(), queries.size());
  if (!ing.is_ok()) return 1;
  // Build the vector index before timing (the first search loads it).
  (void)svc.search("set", search::SearchRequest{queries[0], 10, search::Mode::vector, std::nullopt},
                   bench, {});

  // The baseline: the same documents in an FTS5 table (porter unicode61
  // remove_diacritics 2, as atelier's was), queried directly, top 100; one
  // connection per thread.
  const std::string fts_db = (dir / "fts5.db").string();
  {
    sqlite3* w = nullptr;
    sqlite3_open(fts_db.c_str(), &w);
    sqlite3_exec(w,
                 "PRAGMA journal_mode=WAL; CREATE VIRTUAL TABLE documents_fts USING fts5(text, "
                 "tokenize='porter unicode61 remove_diacritics 2'); BEGIN",
                 nullptr, nullptr, nullptr);
    sqlite3_stmt* ins = nullptr;
    sqlite3_prepare_v2(w, "INSERT INTO documents_fts(text) VALUES (?)", -1, &ins, nullptr);
    for (const auto& d : docs) {
      sqlite3_bind_text(ins, 1, d.text.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_step(ins);
      sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    sqlite3_exec(w, "COMMIT", nullptr, nullptr, nullptr);
    sqlite3_close(w);
  }
  std::vector<sqlite3*> conns(16);
  std::vector<sqlite3_stmt*> stmts(16);
  for (int i = 0; i < 16; ++i) {
    sqlite3_open_v2(fts_db.c_str(), &conns[i], SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    sqlite3_prepare_v2(
        conns[i],
        "SELECT rowid, bm25(documents_fts) FROM documents_fts WHERE documents_fts MATCH ? "
        "ORDER BY bm25(documents_fts) LIMIT 100",
        -1, &stmts[i], nullptr);
  }
  std::vector<std::string> matches;
  for (auto& q : queries) matches.push_back(fts5_match(analyzer, q));

  std::printf("%-22s %6s %10s %10s %10s %12s\n", "mode", "conc", "p50 ms", "p99 ms", "QPS",
              "x FTS5 (p99 / QPS)");
  for (int conc : {1, 16}) {
    auto fts = measure(matches, conc, [&](const std::string& m, int c) {
      sqlite3_stmt* st = stmts[static_cast<std::size_t>(c)];
      sqlite3_bind_text(st, 1, m.c_str(), -1, SQLITE_TRANSIENT);
      while (sqlite3_step(st) == SQLITE_ROW) {
      }
      sqlite3_reset(st);
    });
    std::printf("%-22s %6d %10.2f %10.2f %10.0f %12s\n", "FTS5 direct (baseline)", conc, fts.p50_ms,
                fts.p99_ms, fts.qps, "1.00 / 1.00");
    for (auto [name, mode] :
         {std::pair{"bm25", search::Mode::bm25}, std::pair{"vector", search::Mode::vector},
          std::pair{"hybrid", search::Mode::hybrid}}) {
      auto f = measure(queries, conc, [&](const std::string& q, int) {
        search::SearchRequest r{q, 10, mode, std::nullopt};
        auto hits = svc.search("set", r, bench, {});
        if (!hits.is_ok()) std::abort();
      });
      char ratio[64];
      std::snprintf(ratio, sizeof ratio, "%.2f / %.1f", f.p99_ms / fts.p99_ms, f.qps / fts.qps);
      std::printf("%-22s %6d %10.2f %10.2f %10.0f %12s\n", name, conc, f.p50_ms, f.p99_ms, f.qps,
                  ratio);
    }
    std::fflush(stdout);
  }
  for (int i = 0; i < 16; ++i) {
    sqlite3_finalize(stmts[i]);
    sqlite3_close(conns[i]);
  }
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace

// Usage: bench_search [synthetic documents = 100000; 0 skips that set]
int main(int argc, char** argv) {
  openblas_set_num_threads(1);
  const std::size_t synthetic = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
  const std::string data = ATELIER_SOURCE_DIR "/../shared/data/retrieval/scifact";
  auto analyzer =
      std::move(text::Analyzer::create(ATELIER_SOURCE_DIR
                                       "/node_modules/stopwords-iso/stopwords-iso.json"))
          .value();
  auto wv = embed::WordVectors::open(ATELIER_SOURCE_DIR "/models/glove-sif/wink-sg-100d.bin");
  if (!wv.is_ok()) {
    std::fprintf(stderr, "%s\n", wv.status().message().c_str());
    return 1;
  }
  engines::EmbedderRegistry registry;
  registry.add(
      std::make_unique<embed::GloveSifEmbedder>("glove-sif-100d", std::move(wv).value(), analyzer));

  std::vector<search::IngestDocument> docs;
  std::vector<std::string>
      words;  // every word of the corpus, with repeats: the unigram distribution
  std::ifstream corpus(data + "/corpus.jsonl");
  for (std::string line; std::getline(corpus, line);) {
    auto d = nlohmann::json::parse(line);
    std::string text = d["title"].get<std::string>() + ". " + d["text"].get<std::string>();
    std::istringstream ws(text);
    for (std::string w; ws >> w;) words.push_back(w);
    docs.push_back({d["_id"], std::move(text), "{}"});
  }
  std::vector<std::string> queries;
  std::ifstream qf(data + "/queries.jsonl");
  for (std::string line; std::getline(qf, line);)
    queries.push_back(nlohmann::json::parse(line)["text"]);
  if (int rc = run_set("SciFact", docs, queries, analyzer, registry); rc != 0) return rc;

  if (synthetic > 0) {
    // Synthetic documents of 120-200 words drawn from SciFact's own word
    // distribution: BM25 sees realistic term statistics at 20x the size.
    std::mt19937_64 rng(42);
    std::uniform_int_distribution<std::size_t> pick(0, words.size() - 1);
    std::uniform_int_distribution<int> len(120, 200);
    std::vector<search::IngestDocument> syn;
    syn.reserve(synthetic);
    for (std::size_t i = 0; i < synthetic; ++i) {
      std::string text;
      for (int n = len(rng); n > 0; --n) text += words[pick(rng)] + " ";
      syn.push_back({"s" + std::to_string(i), std::move(text), "{}"});
    }
    if (int rc = run_set("Synthetic (SciFact word distribution)", syn, queries, analyzer, registry);
        rc != 0)
      return rc;
  }
  return 0;
}
