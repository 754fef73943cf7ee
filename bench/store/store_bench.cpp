// bench/store: p50 / p99 of the hot queries on each backend, in one run:
// API key lookup (every authenticated request misses the key cache once),
// usage add (the quota ledger's flush), document upsert of 100 (ingest) and
// design create (a job row). Concurrency 1: the cost of one round trip and
// its transaction, which is what each request pays.
//
// Usage: bench_store [postgresql://...]  (SQLite in a temporary folder
// always; PostgreSQL when a URL is given: bench/store/run.sh starts a
// throwaway cluster for it.)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "design/design_repository.h"
#include "identity/account_repository.h"
#include "quota/usage_repository.h"
#include "search/collection_repository.h"
#include "store/database.h"
#include "store/migrations.h"

using namespace atelier;
using Clock = std::chrono::steady_clock;

namespace {

struct Figures {
  double p50_ms, p99_ms;
};

template <class F>
Figures time_it(int n, F&& once) {
  std::vector<double> ms;
  ms.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const auto t = Clock::now();
    once(i);
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[std::min(ms.size() - 1, ms.size() * 99 / 100)]};
}

void check(const Status& st) {
  if (!st.is_ok()) {
    std::fprintf(stderr, "%s\n", st.message().c_str());
    std::exit(1);
  }
}

void run(const std::string& label, const std::string& url) {
  auto opened = db::open_database(url, 4);
  check(opened.status());
  auto database = std::move(opened).value();
  check(database->migrate(schema_migrations()).status());
  AccountRepository accounts(*database);
  UsageRepository usage(*database);
  CollectionRepository collections(*database);
  DesignRepository designs(*database);
  std::mt19937 rng(1);

  // 1,000 keys to look up among.
  std::vector<std::string> hashes;
  for (int i = 0; i < 1000; ++i) {
    ApiKey k;
    k.name = "bench";
    k.prefix = "p";
    k.hash = std::to_string(rng()) + "-" + std::to_string(i);
    k.tier = Tier::premium;
    check(accounts.create_api_key(k).status());
    hashes.push_back(k.hash);
  }
  const auto lookup = time_it(5000, [&](int i) {
    check(accounts.find_api_key_by_hash(hashes[static_cast<std::size_t>(i) % hashes.size()])
              .status());
  });
  const auto add = time_it(2000, [&](int i) {
    check(usage.add_usage({{"user:" + std::to_string(i % 50), "2026-11-26", 3, 1}}));
  });
  auto col = collections.create("bench", "user:1", "glove-sif-100d", 100, "private");
  check(col.status());
  std::uniform_real_distribution<float> u(-1, 1);
  const auto upsert = time_it(200, [&](int i) {
    std::vector<DocumentRecord> docs;
    for (int d = 0; d < 100; ++d) {
      std::vector<float> v(100);
      for (auto& x : v) x = u(rng);
      // Half new ids, half replacing earlier ones.
      const int id = (i * 100 + d) / (d % 2 ? 1 : 2);
      docs.push_back({"doc" + std::to_string(id),
                      "a document of some two dozen words about dresses, boots and coats, the "
                      "kind of text a catalogue holds, number " +
                          std::to_string(id),
                      R"({"brand":"atelier","size":"M"})", std::move(v)});
    }
    check(collections.upsert_documents(col->id, docs).status());
  });
  const auto create = time_it(2000, [&](int i) {
    Design d;
    d.id = "ds_" + std::to_string(rng()) + "_" + std::to_string(i);
    d.owner = "user:" + std::to_string(i % 20);
    d.input_blob = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    d.input_type = "image/jpeg";
    d.style = "scandinavian";
    d.room_type = "living_room";
    d.prompt = "a scandinavian living room, light wood, linen, soft daylight";
    d.negative_prompt = "blurry, distorted";
    d.preset_version = "2026.11-1";
    d.engine = "local";
    d.status = "queued";
    d.quota_day = "2026-11-26";
    d.created_at = 1764000000000 + i;
    check(designs.create_design(d).status());
  });
  std::printf("%-12s %22s %8.3f %8.3f\n", label.c_str(), "API key lookup", lookup.p50_ms,
              lookup.p99_ms);
  std::printf("%-12s %22s %8.3f %8.3f\n", label.c_str(), "usage add", add.p50_ms, add.p99_ms);
  std::printf("%-12s %22s %8.3f %8.3f\n", label.c_str(), "upsert 100 documents", upsert.p50_ms,
              upsert.p99_ms);
  std::printf("%-12s %22s %8.3f %8.3f\n", label.c_str(), "design create", create.p50_ms,
              create.p99_ms);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("atelier-bench-store-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::printf("%-12s %22s %8s %8s\n", "backend", "query", "p50 ms", "p99 ms");
  run("sqlite", "sqlite:" + (dir / "bench.db").string());
  if (argc > 1) run("postgresql", argv[1]);
  std::filesystem::remove_all(dir);
  return 0;
}
