// bench/embeddings: sentences per second for the GloVe-SIF embedder at batch 1
// and 32 on SciFact sentences, beside the baseline of tokenising the same
// sentences alone (the analyzer pass every embedding includes).
//
// Run: build/bench/bench_embeddings   (needs models/glove-sif/wink-sg-100d.bin
// and ../shared/data/retrieval/scifact/corpus.jsonl; override with
// ATELIER_BENCH_VECTORS and ATELIER_BENCH_CORPUS)
#include <benchmark/benchmark.h>
#include <nlohmann/json.hpp>

#include <cstdlib>
#include <fstream>
#include <iostream>

#include "embed/glove_sif.h"

namespace {

using namespace atelier;

std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

struct Fixture {
  text::Analyzer analyzer = std::move(text::Analyzer::create("")).value();
  std::unique_ptr<embed::GloveSifEmbedder> embedder;
  std::vector<std::string> sentences;

  Fixture() {
    auto wv = embed::WordVectors::open(
        env_or("ATELIER_BENCH_VECTORS", ATELIER_SOURCE_DIR "/models/glove-sif/wink-sg-100d.bin"));
    if (!wv.is_ok()) {
      std::cerr << wv.status().message() << "\n";
      std::exit(1);
    }
    embedder = std::make_unique<embed::GloveSifEmbedder>("glove-sif-100d", std::move(wv).value(),
                                                         analyzer);
    std::ifstream in(env_or("ATELIER_BENCH_CORPUS",
                            ATELIER_SOURCE_DIR "/../shared/data/retrieval/scifact/corpus.jsonl"));
    std::string line;
    while (std::getline(in, line) && sentences.size() < 4096) {
      auto doc = nlohmann::json::parse(line, nullptr, false);
      if (doc.is_discarded()) continue;
      auto analysis = analyzer.analyze(doc.value("text", ""), "english");
      if (!analysis.is_ok()) continue;
      for (auto& s : analysis->sentences) sentences.push_back(s.text);
    }
    if (sentences.empty()) {
      std::cerr << "no sentences: set ATELIER_BENCH_CORPUS\n";
      std::exit(1);
    }
  }
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

void BM_TokenizeOnly(benchmark::State& state) {
  auto& f = fixture();
  std::size_t i = 0;
  for (auto _ : state) {
    for (int b = 0; b < state.range(0); ++b) {
      auto a = f.analyzer.analyze(f.sentences[i++ % f.sentences.size()], "english");
      benchmark::DoNotOptimize(a);
    }
  }
  state.counters["sentences/s"] =
      benchmark::Counter(double(state.iterations() * state.range(0)), benchmark::Counter::kIsRate);
}

void BM_GloveSif(benchmark::State& state) {
  auto& f = fixture();
  std::size_t i = 0;
  std::vector<std::string> batch(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) {
    for (auto& s : batch) s = f.sentences[i++ % f.sentences.size()];
    auto out = f.embedder->embed(batch, {});
    benchmark::DoNotOptimize(out);
  }
  state.counters["sentences/s"] =
      benchmark::Counter(double(state.iterations() * state.range(0)), benchmark::Counter::kIsRate);
}

BENCHMARK(BM_TokenizeOnly)->Arg(1)->Arg(32);
BENCHMARK(BM_GloveSif)->Arg(1)->Arg(32);

}  // namespace

BENCHMARK_MAIN();
