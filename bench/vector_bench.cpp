// bench/vector: exact (flat, an OpenBLAS sgemv scan) vs HNSW search, each measured in the same run
// on
//  (a) clustered synthetic unit vectors (random-normal ones defeat every
//      approximate index), N x 384, and
//  (b) real embeddings: the first N GloVe word vectors (100-d), queried with
//      the next 1,000 words.
// Prints build time, memory, recall@10 against exact search and single-thread
// QPS. Target: recall@10 >= 0.95 at >= 20x the exact QPS.
//
// Usage: build/bench/bench_vector [N = 100000] [queries = 1000]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <string>

#include "embed/word_vectors.h"
#include "search/hnsw_index.h"
#include "search/ivf_index.h"
#include "search/vector_index.h"

extern "C" void openblas_set_num_threads(int);

using namespace atelier;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

void normalise(std::vector<float>& v) {
  double n = 0;
  for (float x : v) n += double(x) * x;
  n = std::sqrt(n);
  if (n > 0)
    for (auto& x : v) x = static_cast<float>(x / n);
}

std::vector<std::vector<float>> clustered(std::size_t n, int dim, int clusters, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0, 1);
  std::mt19937 centre_rng(1234);  // same centres for data and queries
  std::vector<std::vector<float>> centres(static_cast<std::size_t>(clusters),
                                          std::vector<float>(static_cast<std::size_t>(dim)));
  for (auto& c : centres)
    for (auto& x : c) x = g(centre_rng);
  std::vector<std::vector<float>> out(n);
  for (std::size_t i = 0; i < n; ++i) {
    out[i] = centres[rng() % static_cast<unsigned>(clusters)];
    for (auto& x : out[i]) x += 0.35f * g(rng);
    normalise(out[i]);
  }
  return out;
}

void run(const char* name, const std::vector<std::vector<float>>& data,
         const std::vector<std::vector<float>>& queries) {
  const int dim = static_cast<int>(data[0].size());
  std::printf("\n%s: %zu vectors x %d dims, %zu queries, k = 10\n", name, data.size(), dim,
              queries.size());
  std::printf("%-8s %10s %12s %10s %12s %10s\n", "index", "build s", "memory MB", "recall@10",
              "QPS", "x exact");
  search::FlatIndex flat(dim);
  auto t = Clock::now();
  for (std::size_t i = 0; i < data.size(); ++i) (void)flat.upsert(std::to_string(i), data[i]);
  const double flat_build = seconds_since(t);
  std::vector<std::set<std::string>> truth;
  t = Clock::now();
  for (const auto& q : queries) {
    std::set<std::string> ids;
    for (auto& h : flat.search(q, 10, {})) ids.insert(h.id);
    truth.push_back(std::move(ids));
  }
  const double flat_qps = static_cast<double>(queries.size()) / seconds_since(t);
  std::printf("%-8s %10.2f %12.1f %10.3f %12.0f %10.2f\n", "flat", flat_build,
              flat.memory_bytes() / 1e6, 1.0, flat_qps, 1.0);

  auto measure = [&](const char* label, search::VectorIndex& idx, double build_s) {
    double recall = 0;
    auto t0 = Clock::now();
    std::vector<std::vector<search::VectorHit>> results;
    results.reserve(queries.size());
    for (const auto& q : queries) results.push_back(idx.search(q, 10, {}));
    const double qps = static_cast<double>(queries.size()) / seconds_since(t0);
    for (std::size_t i = 0; i < queries.size(); ++i) {
      int hit = 0;
      for (auto& h : results[i]) hit += truth[i].count(h.id) ? 1 : 0;
      recall += hit / 10.0;
    }
    recall /= static_cast<double>(queries.size());
    std::printf("%-8s %10.2f %12.1f %10.3f %12.0f %10.2f\n", label, build_s,
                idx.memory_bytes() / 1e6, recall, qps, qps / flat_qps);
    std::fflush(stdout);
  };

  {
    auto hnsw = search::make_hnsw_index(dim);
    t = Clock::now();
    for (std::size_t i = 0; i < data.size(); ++i) (void)hnsw->upsert(std::to_string(i), data[i]);
    measure("hnsw", *hnsw, seconds_since(t));
  }
  {
    // IVF: trained on an evenly spaced sample (as the service does), nlist = 2 sqrt(N).
    t = Clock::now();
    const std::size_t sample = std::min<std::size_t>(data.size(), 131072);
    std::vector<float> train;
    for (std::size_t i = 0; i < sample; ++i) {
      const auto& v = data[i * data.size() / sample];
      train.insert(train.end(), v.begin(), v.end());
    }
    auto ivf = search::make_ivf_index(dim, train, {0, 32});
    if (!ivf.is_ok()) {
      std::printf("ivf: %s\n", ivf.status().message().c_str());
      return;
    }
    for (std::size_t i = 0; i < data.size(); ++i)
      (void)ivf.value()->upsert(std::to_string(i), data[i]);
    measure("ivf", *ivf.value(), seconds_since(t));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 100000;
  const std::size_t nq = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000;
  openblas_set_num_threads(1);  // single-thread figures for both indexes
  std::printf(
      "bench/vector: flat = exact inner product; hnsw = hnswlib M=16 efC=200 efS=128 (AVX2 build); "
      "ivf = FAISS IVFFlat nlist 2*sqrt(N) nprobe 32, one thread\n");
  run("clustered synthetic", clustered(n, 384, 1000, 1), clustered(nq, 384, 1000, 2));

  const char* path_env = std::getenv("ATELIER_BENCH_VECTORS");
  const std::string path =
      path_env ? path_env : ATELIER_SOURCE_DIR "/models/glove-sif/wink-sg-100d.bin";
  auto wv = embed::WordVectors::open(path);
  if (!wv.is_ok()) {
    std::printf("\n(skipping real embeddings: %s)\n", wv.status().message().c_str());
    return 0;
  }
  const std::size_t real_n = std::min<std::size_t>(n, (*wv)->size() - nq);
  std::vector<std::vector<float>> data, queries;
  for (std::size_t i = 0; i < real_n + nq; ++i) {
    auto s = (*wv)->vector(static_cast<std::uint32_t>(i));
    std::vector<float> v(s.begin(), s.end());
    normalise(v);
    (i < real_n ? data : queries).push_back(std::move(v));
  }
  run("GloVe word vectors (real)", data, queries);
  return 0;
}
