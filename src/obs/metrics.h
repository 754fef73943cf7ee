// Prometheus metrics for the whole process, served at /metrics in the text
// exposition format. Labels never carry user or key ids (cardinality); route
// labels are route templates, never raw paths.
//
// Thread safety: all methods may be called from any thread.
#pragma once

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include "core/mutex.h"
#include "obs/cache_stats.h"

namespace atelier {

class Metrics {
 public:
  Metrics();

  prometheus::Registry& registry() { return *registry_; }
  std::string serialize() const;

  // `route` must outlive the Metrics object (route templates live in the
  // router): the series are cached by its address, because prometheus-cpp's
  // Family::Add builds a new metric object on every call.
  void observe_request(const std::string& method, const std::string& route, int status,
                       double seconds);
  prometheus::Gauge& in_flight() { return *in_flight_; }
  void rate_limited(std::string_view tier, std::string_view limit);
  // Search latency by mode (bm25, vector, hybrid): a fixed, small label set.
  void observe_search(const std::string& mode, double seconds);

  // Per-model inference series, made once when the model loads; the returned
  // callable observes one forward (batch size, seconds) without lookups.
  std::function<void(std::size_t batch, double seconds)> model_observer(const std::string& model);
  // AI generations (design jobs): ai_generations_total{engine,status},
  // ai_generation_duration_seconds{engine}, ai_generation_cost_total{engine}.
  // Series for the given engines are made up front; the callable is cheap.
  std::function<void(const std::string& engine, const std::string& status, double seconds,
                     double cost)>
  generation_observer(const std::vector<std::string>& engines);
  // Chat turns: atelier_chat_turns_total{engine,outcome} (answered,
  // nothing_found, cancelled, failed), atelier_chat_time_to_first_token_seconds
  // {engine} (to the first chunk with text), atelier_chat_tokens_per_second
  // {engine}. Series for the given engines are made up front.
  std::function<void(const std::string& engine, const std::string& outcome, double ttft_seconds,
                     double seconds, std::size_t tokens)>
  chat_observer(const std::vector<std::string>& engines);
  // Result cache hits and misses by cache name and layer ("local", and
  // "redis" for a shared cache, with its failed calls).
  void add_cache(const std::string& name, std::function<CacheStats()> stats);

  // Gauges read at scrape time (queue depths, cache sizes, ...).
  using Sampler = std::function<double()>;
  void add_sampled_gauge(const std::string& name, const std::string& help,
                         const std::map<std::string, std::string>& labels, Sampler f);
  void add_sampled_counter(const std::string& name, const std::string& help,
                           const std::map<std::string, std::string>& labels, Sampler f);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<prometheus::Collectable> samplers_;
  prometheus::Family<prometheus::Counter>* requests_;
  prometheus::Family<prometheus::Histogram>* durations_;
  prometheus::Family<prometheus::Counter>* rate_limited_;
  prometheus::Gauge* in_flight_;
  prometheus::Family<prometheus::Histogram>* search_;
  prometheus::Family<prometheus::Histogram>* inference_;
  prometheus::Family<prometheus::Histogram>* batch_;

  struct Series {
    prometheus::Counter* count;
    prometheus::Histogram* duration;
  };
  struct SeriesKeyHash {
    std::size_t operator()(const std::pair<const void*, std::uint64_t>& k) const noexcept {
      return std::hash<const void*>()(k.first) ^ (k.second * 0x9e3779b97f4a7c15ULL);
    }
  };
  Mutex series_mu_;
  std::unordered_map<std::pair<const void*, std::uint64_t>, Series, SeriesKeyHash> series_
      GUARDED_BY(series_mu_);
};

}  // namespace atelier
