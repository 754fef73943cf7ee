#include "obs/metrics.h"

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <dirent.h>
#include <chrono>
#include <fstream>
#include <sstream>
#include <vector>

namespace atelier {
namespace {

const prometheus::Histogram::BucketBoundaries kLatencyBuckets = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30};

// Standard process_* metrics read from /proc (prometheus-cpp has none).
class ProcessCollector final : public prometheus::Collectable {
 public:
  ProcessCollector()
      : start_(std::chrono::duration_cast<std::chrono::duration<double>>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count()) {}

  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> out;
    double cpu = 0, vsize = 0, rss = 0;
    std::ifstream stat("/proc/self/stat");
    std::string line;
    if (std::getline(stat, line)) {
      // Fields after the parenthesised command name; utime=14, stime=15,
      // vsize=23, rss=24 (1-based in proc(5)).
      auto rp = line.rfind(')');
      std::istringstream in(line.substr(rp + 2));
      std::vector<std::string> f;
      std::string tok;
      while (in >> tok) f.push_back(tok);
      if (f.size() > 22) {
        const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
        cpu = (std::stod(f[11]) + std::stod(f[12])) / tick;
        vsize = std::stod(f[20]);
        rss = std::stod(f[21]) * static_cast<double>(sysconf(_SC_PAGESIZE));
      }
    }
    double fds = 0;
    if (DIR* d = opendir("/proc/self/fd")) {
      while (readdir(d)) ++fds;
      closedir(d);
      fds -= 2;
    }
    auto gauge = [&](const char* name, const char* help, double v, prometheus::MetricType t) {
      prometheus::MetricFamily fam;
      fam.name = name;
      fam.help = help;
      fam.type = t;
      prometheus::ClientMetric m;
      if (t == prometheus::MetricType::Counter) {
        m.counter.value = v;
      } else {
        m.gauge.value = v;
      }
      fam.metric.push_back(m);
      out.push_back(std::move(fam));
    };
    gauge("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", cpu,
          prometheus::MetricType::Counter);
    gauge("process_resident_memory_bytes", "Resident memory size in bytes.", rss,
          prometheus::MetricType::Gauge);
    gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", vsize,
          prometheus::MetricType::Gauge);
    gauge("process_open_fds", "Number of open file descriptors.", fds,
          prometheus::MetricType::Gauge);
    gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
          start_, prometheus::MetricType::Gauge);
    return out;
  }

 private:
  double start_;
};

// Gauges and counters whose values are read from their owners at scrape time.
class SampledCollector final : public prometheus::Collectable {
 public:
  struct Sample {
    std::string name, help;
    prometheus::MetricType type;
    std::map<std::string, std::string> labels;
    Metrics::Sampler f;
  };
  void add(Sample s) {
    MutexLock lock(mu_);
    samples_.push_back(std::move(s));
  }
  std::vector<prometheus::MetricFamily> Collect() const override {
    MutexLock lock(mu_);
    std::vector<prometheus::MetricFamily> out;
    for (const auto& s : samples_) {
      prometheus::MetricFamily* fam = nullptr;
      for (auto& f : out) {
        if (f.name == s.name) fam = &f;
      }
      if (!fam) {
        out.push_back({s.name, s.help, s.type, {}});
        fam = &out.back();
      }
      prometheus::ClientMetric m;
      for (auto& [k, v] : s.labels) m.label.push_back({k, v});
      if (s.type == prometheus::MetricType::Counter) {
        m.counter.value = s.f();
      } else {
        m.gauge.value = s.f();
      }
      fam->metric.push_back(std::move(m));
    }
    return out;
  }

 private:
  mutable Mutex mu_;
  std::vector<Sample> samples_ GUARDED_BY(mu_);
};

}  // namespace

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
  requests_ = &prometheus::BuildCounter()
                   .Name("http_requests_total")
                   .Help("HTTP requests answered, by route template, method and status.")
                   .Register(*registry_);
  durations_ = &prometheus::BuildHistogram()
                    .Name("http_request_duration_seconds")
                    .Help("Time from request parsed to response handed to the network.")
                    .Register(*registry_);
  rate_limited_ = &prometheus::BuildCounter()
                       .Name("rate_limit_exceeded_total")
                       .Help("Requests refused by a rate limit or quota, by caller tier and limit.")
                       .Register(*registry_);
  in_flight_ = &prometheus::BuildGauge()
                    .Name("http_requests_in_flight")
                    .Help("Requests being handled now.")
                    .Register(*registry_)
                    .Add({});
  search_ = &prometheus::BuildHistogram()
                 .Name("atelier_search_duration_seconds")
                 .Help("Collection search time by mode, BM25 and vector sides and fusion included.")
                 .Register(*registry_);
  inference_ = &prometheus::BuildHistogram()
                    .Name("atelier_inference_duration_seconds")
                    .Help("Duration of one model forward pass (a whole batch), by model.")
                    .Register(*registry_);
  batch_ = &prometheus::BuildHistogram()
                .Name("atelier_inference_batch_size")
                .Help("Requests served by one model forward pass, by model.")
                .Register(*registry_);
  samplers_ = std::make_shared<SampledCollector>();
}

std::function<void(std::size_t, double)> Metrics::model_observer(const std::string& model) {
  static const prometheus::Histogram::BucketBoundaries kForward = {
      0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10};
  static const prometheus::Histogram::BucketBoundaries kBatch = {1, 2, 3, 4, 6, 8, 12, 16, 32};
  prometheus::Histogram* d = &inference_->Add({{"model", model}}, kForward);
  prometheus::Histogram* b = &batch_->Add({{"model", model}}, kBatch);
  return [d, b](std::size_t batch, double seconds) {
    d->Observe(seconds);
    b->Observe(static_cast<double>(batch));
  };
}

std::function<void(const std::string&, const std::string&, double, double)>
Metrics::generation_observer(const std::vector<std::string>& engines) {
  auto& count = prometheus::BuildCounter()
                    .Name("ai_generations_total")
                    .Help("Design generations by engine and final status.")
                    .Register(*registry_);
  auto& duration = prometheus::BuildHistogram()
                       .Name("ai_generation_duration_seconds")
                       .Help("Time from a design job's start to its end.")
                       .Register(*registry_);
  auto& cost = prometheus::BuildCounter()
                   .Name("ai_generation_cost_total")
                   .Help("Cost of succeeded generations in USD, by engine.")
                   .Register(*registry_);
  static const prometheus::Histogram::BucketBoundaries kBuckets = {0.05, 0.1, 0.25, 0.5, 1,  2,
                                                                   5,    10,  30,   60,  120};
  struct EngineSeries {
    std::map<std::string, prometheus::Counter*> by_status;
    prometheus::Histogram* duration;
    prometheus::Counter* cost;
  };
  auto series = std::make_shared<std::map<std::string, EngineSeries>>();
  for (const auto& e : engines) {
    EngineSeries es;
    for (const char* st : {"succeeded", "failed", "cancelled"})
      es.by_status[st] = &count.Add({{"engine", e}, {"status", st}});
    es.duration = &duration.Add({{"engine", e}}, kBuckets);
    es.cost = &cost.Add({{"engine", e}});
    (*series)[e] = es;
  }
  return
      [series](const std::string& engine, const std::string& status, double seconds, double usd) {
        auto it = series->find(engine);
        if (it == series->end()) return;
        if (auto s = it->second.by_status.find(status); s != it->second.by_status.end())
          s->second->Increment();
        if (seconds > 0) it->second.duration->Observe(seconds);
        if (usd > 0) it->second.cost->Increment(usd);
      };
}

std::function<void(const std::string&, const std::string&, double, double, std::size_t)>
Metrics::chat_observer(const std::vector<std::string>& engines) {
  auto& turns = prometheus::BuildCounter()
                    .Name("atelier_chat_turns_total")
                    .Help("Chat turns by engine and outcome.")
                    .Register(*registry_);
  auto& ttft = prometheus::BuildHistogram()
                   .Name("atelier_chat_time_to_first_token_seconds")
                   .Help("Time from a chat request to its first chunk with text.")
                   .Register(*registry_);
  auto& rate = prometheus::BuildHistogram()
                   .Name("atelier_chat_tokens_per_second")
                   .Help("Answer tokens per second of a chat turn, from the first token.")
                   .Register(*registry_);
  static const prometheus::Histogram::BucketBoundaries kSeconds = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  static const prometheus::Histogram::BucketBoundaries kRates = {5,   10,  25,   50,   100,
                                                                 250, 500, 1000, 5000, 20000};
  struct EngineSeries {
    std::map<std::string, prometheus::Counter*> by_outcome;
    prometheus::Histogram* ttft;
    prometheus::Histogram* rate;
  };
  auto series = std::make_shared<std::map<std::string, EngineSeries>>();
  for (const auto& e : engines) {
    EngineSeries es;
    for (const char* o : {"answered", "nothing_found", "cancelled", "failed"})
      es.by_outcome[o] = &turns.Add({{"engine", e}, {"outcome", o}});
    es.ttft = &ttft.Add({{"engine", e}}, kSeconds);
    es.rate = &rate.Add({{"engine", e}}, kRates);
    (*series)[e] = es;
  }
  return [series](const std::string& engine, const std::string& outcome, double ttft_s,
                  double seconds, std::size_t tokens) {
    auto it = series->find(engine);
    if (it == series->end()) return;
    if (auto o = it->second.by_outcome.find(outcome); o != it->second.by_outcome.end())
      o->second->Increment();
    if (ttft_s > 0) it->second.ttft->Observe(ttft_s);
    const double after_first = seconds - ttft_s;
    if (tokens > 0 && after_first > 0) it->second.rate->Observe(double(tokens) / after_first);
  };
}

void Metrics::add_cache(const std::string& name, std::function<CacheStats()> stats) {
  using S = CacheStats;
  auto counter = [&](const char* metric, const char* help, const char* layer, auto field) {
    add_sampled_counter(metric, help, {{"cache", name}, {"layer", layer}},
                        [stats, field] { return static_cast<double>(stats().*field); });
  };
  counter("atelier_cache_hits_total", "Result cache hits.", "local", &S::hits);
  counter("atelier_cache_misses_total", "Result cache misses.", "local", &S::misses);
  if (!stats().shared) return;
  counter("atelier_cache_hits_total", "Result cache hits.", "redis", &S::shared_hits);
  counter("atelier_cache_misses_total", "Result cache misses.", "redis", &S::shared_misses);
  counter("atelier_cache_errors_total",
          "Shared cache calls that failed (Redis unreachable); answered as misses.", "redis",
          &S::shared_errors);
}

void Metrics::observe_search(const std::string& mode, double seconds) {
  // Three modes only, so Add's per-call construction cost is bounded by caching here.
  static const std::vector<std::string> kModes = {"bm25", "vector", "hybrid"};
  for (std::size_t i = 0; i < kModes.size(); ++i) {
    if (kModes[i] == mode) {
      MutexLock lock(series_mu_);
      const std::pair<const void*, std::uint64_t> key{&kModes[i], 0xfeed};
      auto it = series_.find(key);
      if (it == series_.end()) {
        it = series_.emplace(key, Series{nullptr, &search_->Add({{"mode", mode}}, kLatencyBuckets)})
                 .first;
      }
      it->second.duration->Observe(seconds);
      return;
    }
  }
}

std::string Metrics::serialize() const {
  auto families = registry_->Collect();
  auto more = samplers_->Collect();
  families.insert(families.end(), more.begin(), more.end());
  static const ProcessCollector process;
  auto proc = process.Collect();
  families.insert(families.end(), proc.begin(), proc.end());
  return prometheus::TextSerializer().Serialize(families);
}

void Metrics::observe_request(const std::string& method, const std::string& route, int status,
                              double seconds) {
  std::uint64_t tag = static_cast<std::uint64_t>(status);
  for (char c : method) tag = tag * 131 + static_cast<unsigned char>(c);
  const std::pair<const void*, std::uint64_t> key{&route, tag};
  Series series{};
  {
    MutexLock lock(series_mu_);
    auto it = series_.find(key);
    if (it != series_.end()) {
      series = it->second;
    } else {
      const std::map<std::string, std::string> labels{
          {"method", method}, {"route", route}, {"status", std::to_string(status)}};
      series = {&requests_->Add(labels), &durations_->Add(labels, kLatencyBuckets)};
      series_.emplace(key, series);
    }
  }
  series.count->Increment();
  series.duration->Observe(seconds);
}

void Metrics::rate_limited(std::string_view tier, std::string_view limit) {
  rate_limited_->Add({{"user_type", std::string(tier)}, {"limit", std::string(limit)}}).Increment();
}

void Metrics::add_sampled_gauge(const std::string& name, const std::string& help,
                                const std::map<std::string, std::string>& labels, Sampler f) {
  static_cast<SampledCollector&>(*samplers_)
      .add({name, help, prometheus::MetricType::Gauge, labels, std::move(f)});
}

void Metrics::add_sampled_counter(const std::string& name, const std::string& help,
                                  const std::map<std::string, std::string>& labels, Sampler f) {
  static_cast<SampledCollector&>(*samplers_)
      .add({name, help, prometheus::MetricType::Counter, labels, std::move(f)});
}

}  // namespace atelier
