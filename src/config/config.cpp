#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <sstream>

extern char** environ;

namespace atelier {

namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}
std::string trim(std::string_view s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string_view::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(b, e - b + 1));
}

struct Setting {
  Setting(std::string k, std::string h, bool sec = false)
      : key(std::move(k)), help(std::move(h)), secret(sec) {}
  std::string key;  // lowercase; environment name is ATELIER_<KEY>
  std::string help;
  bool secret = false;
  std::function<std::string(Config&, const std::string&)> set;  // returns error text or ""
  std::function<std::string(const Config&)> get;
};

template <typename Int>
Setting int_setting(std::string key, Int Config::*m, long long lo, long long hi, std::string help) {
  Setting s{std::move(key), std::move(help)};
  s.set = [m, lo, hi](Config& c, const std::string& v) -> std::string {
    long long x = 0;
    auto t = trim(v);
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), x);
    if (ec != std::errc() || p != t.data() + t.size())
      return "expected an integer, got '" + v + "'";
    if (x < lo || x > hi) {
      return "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", got " + t;
    }
    c.*m = static_cast<Int>(x);
    return {};
  };
  s.get = [m](const Config& c) { return std::to_string(c.*m); };
  return s;
}

Setting daily_limit_setting(Tier t) {
  std::string key = std::string(tier_name(t)) + "_daily_limit";
  Setting s{key,
            "daily quota in cost units for tier " + std::string(tier_name(t)) + " (0 = unlimited)"};
  const int i = static_cast<int>(t);
  s.set = [i](Config& c, const std::string& v) -> std::string {
    long long x = 0;
    auto tv = trim(v);
    auto [p, ec] = std::from_chars(tv.data(), tv.data() + tv.size(), x);
    if (ec != std::errc() || p != tv.data() + tv.size() || x < 0) {
      return "expected a non-negative integer, got '" + v + "'";
    }
    c.daily_limit[i] = x;
    return {};
  };
  s.get = [i](const Config& c) { return std::to_string(c.daily_limit[i]); };
  return s;
}

Setting double_setting(std::string key, double Config::*m, double lo, double hi, std::string help) {
  Setting s{std::move(key), std::move(help)};
  s.set = [m, lo, hi](Config& c, const std::string& v) -> std::string {
    auto t = trim(v);
    char* end = nullptr;
    double x = std::strtod(t.c_str(), &end);
    if (t.empty() || end != t.c_str() + t.size()) return "expected a number, got '" + v + "'";
    if (x < lo || x > hi)
      return "must be between " + std::to_string(lo) + " and " + std::to_string(hi);
    c.*m = x;
    return {};
  };
  s.get = [m](const Config& c) {
    std::ostringstream o;
    o << c.*m;
    return o.str();
  };
  return s;
}

Setting bool_setting(std::string key, bool Config::*m, std::string help) {
  Setting s{std::move(key), std::move(help)};
  s.set = [m](Config& c, const std::string& v) -> std::string {
    auto t = lower(trim(v));
    if (t == "1" || t == "true" || t == "yes" || t == "on") {
      c.*m = true;
    } else if (t == "0" || t == "false" || t == "no" || t == "off") {
      c.*m = false;
    } else {
      return "expected true or false, got '" + v + "'";
    }
    return {};
  };
  s.get = [m](const Config& c) { return std::string(c.*m ? "true" : "false"); };
  return s;
}

Setting string_setting(std::string key, std::string Config::*m,
                       const std::vector<std::string>& allowed, std::string help,
                       bool secret = false) {
  Setting s{std::move(key), std::move(help), secret};
  s.set = [m, allowed](Config& c, const std::string& v) -> std::string {
    auto t = trim(v);
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), t) == allowed.end()) {
      std::string list;
      for (auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      return "must be one of " + list + ", got '" + v + "'";
    }
    c.*m = t;
    return {};
  };
  s.get = [m](const Config& c) { return c.*m; };
  return s;
}

const std::vector<Setting>& settings() {
  static const std::vector<Setting> table = [] {
    std::vector<Setting> t;
    t.push_back(string_setting(
        "env", &Config::env, {"development", "production", "enterprise", "test"}, "profile name"));
    t.push_back(
        string_setting("data_dir", &Config::data_dir, {}, "database, blobs and index files"));
    t.push_back(string_setting("redis_url", &Config::redis_url, {},
                               "redis://[:password@]host:port[/db]: limits and quotas shared by "
                               "replicas, and the revocation broadcast (empty: in-process)",
                               true));
    t.push_back(string_setting("redis_failure", &Config::redis_failure, {"closed", "open"},
                               "Redis unreachable: closed refuses metered routes with 503; open "
                               "falls back to this replica's own counters"));
    t.push_back(int_setting("stream_lease_seconds", &Config::stream_lease_s, 1, 3600,
                            "with Redis: how long a replica that died keeps counting its open "
                            "chat streams against their callers"));
    t.push_back(int_setting("credential_cache_seconds", &Config::credential_cache_s, 1, 86400,
                            "how long a replica remembers a verified API key or user: a "
                            "revocation through another process without the Redis broadcast "
                            "takes effect within this time"));
    t.push_back(string_setting("database_url", &Config::database_url, {},
                               "postgresql://user:pass@host:port/db (empty: SQLite in data_dir)",
                               true));
    t.push_back(int_setting("database_pool", &Config::database_pool, 0, 1024,
                            "database connections (0: one per thread that may use it)"));
    t.push_back(string_setting("models_dir", &Config::models_dir, {},
                               "':'-separated folders searched for model files"));
    t.push_back(string_setting("docs_dir", &Config::docs_dir, {}, "swagger-ui-dist folder"));
    t.push_back(
        string_setting("stopwords_file", &Config::stopwords_file, {}, "stopwords-iso.json"));
    t.push_back(string_setting("host", &Config::host, {}, "listen address"));
    t.push_back(int_setting("port", &Config::port, 0, 65535, "listen port"));
    t.push_back(int_setting("io_threads", &Config::io_threads, 0, 64,
                            "network threads (0: 1, or 4 with Redis, whose checks wait on them)"));
    t.push_back(
        int_setting("max_connections", &Config::max_connections, 1, 1000000,
                    "open connections at once; more are refused as soon as they are accepted"));
    t.push_back(int_setting("read_timeout_seconds", &Config::read_timeout_s, 1, 3600,
                            "time to read one request"));
    t.push_back(int_setting("request_timeout_seconds", &Config::request_timeout_s, 1, 3600,
                            "deadline of one request"));
    t.push_back(int_setting("drain_timeout_seconds", &Config::drain_timeout_s, 0, 3600,
                            "SIGTERM: how long in-flight requests may finish"));
    t.push_back(int_setting("max_body_bytes", &Config::max_body_bytes, 1024, 1LL << 32,
                            "largest request body; larger ones get 413"));
    t.push_back(int_setting(
        "max_body_hard_bytes", &Config::max_body_hard_bytes, 0, 1LL << 33,
        "transport cap; beyond it the connection is closed unread (0 = 2x max_body_bytes)"));
    t.push_back(bool_setting("trust_forwarded_for", &Config::trust_forwarded_for,
                             "take the client IP from X-Forwarded-For (behind a trusted proxy)"));
    {
      Setting s{"cors_origins", "comma-separated allowed origins, or *"};
      s.set = [](Config& c, const std::string& v) -> std::string {
        c.cors_origins.clear();
        std::stringstream ss(v);
        std::string item;
        while (std::getline(ss, item, ',')) {
          item = trim(item);
          if (item.empty()) continue;
          if (item != "*" && item.rfind("http://", 0) != 0 && item.rfind("https://", 0) != 0) {
            return "origin '" + item + "' must start with http:// or https:// (or be *)";
          }
          c.cors_origins.push_back(item);
        }
        return {};
      };
      s.get = [](const Config& c) {
        std::string out;
        for (auto& o : c.cors_origins) out += (out.empty() ? "" : ",") + o;
        return out;
      };
      t.push_back(std::move(s));
    }
    t.push_back(int_setting("workers", &Config::workers, 0, 256, "CPU worker threads (0 = cores)"));
    t.push_back(int_setting("queue_capacity", &Config::queue_capacity, 1, 100000,
                            "queued CPU tasks before 503"));
    t.push_back(string_setting("ai_engine", &Config::ai_engine,
                               {"local", "replicate", "hf_inference", "openai"},
                               "default AI engine"));
    t.push_back(
        bool_setting("deterministic", &Config::deterministic, "fixed seeds, identical output"));
    t.push_back(int_setting("max_resolution", &Config::max_resolution, 64, 8192,
                            "images are downscaled to this longest side"));
    t.push_back(
        int_setting("ai_timeout_seconds", &Config::ai_timeout_s, 1, 3600, "AI call timeout"));
    t.push_back(int_setting("max_image_pixels", &Config::max_image_pixels, 1, 1LL << 34,
                            "images declaring more pixels are refused before decoding"));
    t.push_back(int_setting("decode_pixel_budget", &Config::decode_pixel_budget, 0, 1LL << 36,
                            "pixels decoded at once across requests (0: twice max_image_pixels)"));
    t.push_back(int_setting("max_input_length", &Config::max_input_length, 1, 100000000,
                            "longest text input in characters"));
    t.push_back(
        int_setting("cache_size", &Config::cache_size, 0, 10000000, "result cache entries"));
    t.push_back(int_setting("cache_ttl_seconds", &Config::cache_ttl_s, 1, 365LL * 86400,
                            "how long a result stays in the shared (Redis) cache"));
    t.push_back(string_setting("embedding_model", &Config::embedding_model, {},
                               "default text embedding model"));
    t.push_back(double_setting("search_rrf_k", &Config::search_rrf_k, 1, 10000,
                               "reciprocal rank fusion constant"));
    t.push_back(double_setting("search_bm25_weight", &Config::search_bm25_weight, 0, 100,
                               "hybrid search: BM25 weight"));
    t.push_back(int_setting(
        "search_flat_max", &Config::search_flat_max, 0, 1000000000,
        "collections up to this many vectors are searched exactly; larger ones by HNSW"));
    t.push_back(int_setting("search_ivf_min", &Config::search_ivf_min, 1, 2000000000,
                            "collections above this many vectors use FAISS IVF"));
    t.push_back(int_setting("search_ivf_nprobe", &Config::search_ivf_nprobe, 1, 65536,
                            "IVF lists probed per search"));
    t.push_back(double_setting("search_vector_weight", &Config::search_vector_weight, 0, 100,
                               "hybrid search: vector weight"));
    t.push_back(int_setting("outbound_workers", &Config::outbound_workers, 1, 4096,
                            "threads that wait on hosted engines and on clients reading chat "
                            "streams (their own pool: such waits never hold a thread that model "
                            "work needs)"));
    t.push_back(int_setting("inference_workers", &Config::inference_workers, 1, 1024,
                            "threads that wait on batched models (vision, image embeddings)"));
    t.push_back(int_setting("inference_queue", &Config::inference_queue, 1, 100000,
                            "queued inference requests before 503"));
    t.push_back(int_setting("model_threads", &Config::model_threads, 0, 256,
                            "threads per model forward (0 = cores)"));
    t.push_back(int_setting("batch_max", &Config::batch_max, 1, 64,
                            "inputs per model forward (1 = no batching)"));
    t.push_back(double_setting("batch_window_ms", &Config::batch_window_ms, 0, 1000,
                               "under load, wait this long for more inputs to batch"));
    t.push_back(
        int_setting("design_workers", &Config::design_workers, 1, 64, "design jobs run at once"));
    t.push_back(int_setting("design_lease_seconds", &Config::design_lease_s, 1, 3600,
                            "a running design job's claim, renewed every second; a job whose "
                            "replica died is taken over when it runs out"));
    t.push_back(int_setting("design_queue", &Config::design_queue, 1, 100000,
                            "design jobs waiting before 503"));
    t.push_back(bool_setting("design_engine_per_request", &Config::design_engine_per_request,
                             "callers may choose any configured engine"));
    t.push_back(double_setting("design_cost_local", &Config::design_cost_local, 0, 100,
                               "USD per local generation"));
    t.push_back(double_setting("design_cost_replicate", &Config::design_cost_replicate, 0, 100,
                               "USD per Replicate generation"));
    t.push_back(double_setting("design_cost_hf", &Config::design_cost_hf, 0, 100,
                               "USD per Hugging Face Inference generation"));
    t.push_back(double_setting("design_monthly_budget", &Config::design_monthly_budget, 0, 1e9,
                               "USD per month for all generations (0: no budget)"));
    t.push_back(int_setting("design_daily_free", &Config::design_daily_free, 0, 1000000,
                            "generations per day, free"));
    t.push_back(int_setting("design_daily_authenticated", &Config::design_daily_authenticated, 0,
                            1000000, "generations per day, authenticated"));
    t.push_back(int_setting("design_daily_premium", &Config::design_daily_premium, 0, 1000000,
                            "generations per day, premium"));
    t.push_back(int_setting("design_daily_admin", &Config::design_daily_admin, 0, 1000000,
                            "generations per day, admin"));
    t.push_back(int_setting("design_retention_days", &Config::design_retention_days, 0, 36500,
                            "delete designs older than this many days (0: keep)"));
    t.push_back(int_setting("wardrobe_worn_days", &Config::wardrobe_worn_days, 0, 365,
                            "recommendations leave out items worn in the last N days"));
    t.push_back(string_setting("replicate_base_url", &Config::replicate_base_url, {},
                               "Replicate API base URL"));
    t.push_back(string_setting("replicate_api_token", &Config::replicate_api_token, {},
                               "Replicate API token", true));
    t.push_back(string_setting("replicate_model_version", &Config::replicate_model_version, {},
                               "Replicate model version (SDXL + ControlNet canny)"));
    t.push_back(string_setting("replicate_output_hosts", &Config::replicate_output_hosts, {},
                               "hosts Replicate outputs may be fetched from"));
    t.push_back(int_setting("replicate_poll_ms", &Config::replicate_poll_ms, 10, 60000,
                            "prediction polling interval"));
    t.push_back(string_setting("hf_endpoint_url", &Config::hf_endpoint_url, {},
                               "Hugging Face Inference Endpoint URL"));
    t.push_back(
        string_setting("hf_api_token", &Config::hf_api_token, {}, "Hugging Face token", true));
    t.push_back(bool_setting("hosted_allow_private", &Config::hosted_allow_private,
                             "let hosted engines reach loopback/private addresses (tests only)"));
    t.push_back(int_setting("breaker_threshold", &Config::breaker_threshold, 1, 1000,
                            "consecutive failures that open a hosted engine's circuit"));
    t.push_back(int_setting("breaker_cooldown_seconds", &Config::breaker_cooldown_s, 1, 3600,
                            "how long an open circuit refuses before a trial call"));
    t.push_back(string_setting(
        "native_models", &Config::native_models, {},
        "Hugging Face BERT/CLIP folders to serve: auto (all found in the models path), none, "
        "or a comma list such as sentence-transformers/all-MiniLM-L6-v2"));
    t.push_back(
        int_setting("encoder_threads", &Config::encoder_threads, 0, 256,
                    "OpenBLAS threads (process-wide, shared with exact vector search; 0 = 1)"));
    t.push_back(
        string_setting("hf_endpoint", &Config::hf_endpoint, {},
                       "Hugging Face-compatible hub that `atelier models pull` downloads from"));
    t.push_back(string_setting(
        "model_catalog", &Config::model_catalog, {},
        "models.json listing what `atelier models pull` knows (empty: config/models.json)"));
    t.push_back(int_setting("encoder_batch_max", &Config::encoder_batch_max, 1, 256,
                            "sequences or images per native encoder forward"));
    t.push_back(
        int_setting("ocr_instances", &Config::ocr_instances, 1, 64, "Tesseract engines kept"));
    t.push_back(string_setting("ocr_language", &Config::ocr_language, {},
                               "Tesseract language(s), e.g. eng or eng+deu"));
    t.push_back(string_setting("tessdata_dir", &Config::tessdata_dir, {},
                               "Tesseract data dir (empty: default)"));
    t.push_back(string_setting(
        "caption_engine", &Config::caption_engine, {"local", "openai"},
        "caption/VQA engine: local (grounded) or openai (OpenAI-compatible server)"));
    t.push_back(string_setting("openai_base_url", &Config::openai_base_url, {},
                               "OpenAI-compatible API base URL, e.g. https://api.openai.com/v1"));
    t.push_back(
        string_setting("openai_model", &Config::openai_model, {}, "vision chat model name"));
    t.push_back(string_setting("openai_api_key", &Config::openai_api_key, {},
                               "bearer key for the OpenAI-compatible API", true));
    t.push_back(int_setting("openai_timeout_seconds", &Config::openai_timeout_s, 1, 600,
                            "hosted call timeout"));
    t.push_back(string_setting("chat_openai_base_url", &Config::chat_openai_base_url, {},
                               "chat: OpenAI-compatible API base URL (empty: local engine only)"));
    t.push_back(string_setting("chat_openai_model", &Config::chat_openai_model, {},
                               "chat: the hosted model's name (what callers put in 'model')"));
    t.push_back(string_setting("chat_openai_api_key", &Config::chat_openai_api_key, {},
                               "chat: bearer key for the OpenAI-compatible API", true));
    t.push_back(int_setting("chat_openai_timeout_seconds", &Config::chat_openai_timeout_s, 1, 3600,
                            "chat: a hosted answer's total time limit"));
    t.push_back(int_setting("chat_openai_idle_seconds", &Config::chat_openai_idle_s, 1, 600,
                            "chat: a hosted stream silent this long is abandoned"));
    t.push_back(int_setting("chat_keepalive_seconds", &Config::chat_keepalive_s, 1, 600,
                            "chat: a quiet stream gets a ': ping' comment this often"));
    t.push_back(
        int_setting("chat_streams_per_user", &Config::chat_streams_per_user, 1, 1000,
                    "chat: open streams (and WebSockets) one identity may hold (more: 429)"));
    t.push_back(
        int_setting("chat_tokens_per_unit", &Config::chat_tokens_per_unit, 0, 1000000,
                    "chat: answer tokens delivered per extra quota unit (0: per request only)"));
    t.push_back(int_setting("ws_ping_seconds", &Config::ws_ping_s, 1, 600,
                            "WebSockets: a quiet peer is pinged this often, closed after two "
                            "unanswered pings"));
    t.push_back(int_setting("ws_auth_seconds", &Config::ws_auth_s, 1, 600,
                            "WebSockets: a socket opened without credentials must sign in (an "
                            "auth frame, or a message where anonymous callers are allowed) "
                            "within this, or is closed (1008)"));
    t.push_back(int_setting("ws_idle_seconds", &Config::ws_idle_s, 1, 86400,
                            "WebSockets: a socket that starts no turn (nor signs in) for this "
                            "long is closed (1000); pings do not count"));
    t.push_back(int_setting("ws_unsigned_per_ip", &Config::ws_unsigned_per_ip, 1, 10000,
                            "WebSockets: sockets one client address may hold open before they "
                            "sign in (more: 429)"));
    t.push_back(string_setting(
        "image_url_hosts", &Config::image_url_hosts, {},
        "hosts image_url may name (comma-separated, *.suffix allowed); empty: fetching off"));
    t.push_back(
        bool_setting("image_url_allow_private", &Config::image_url_allow_private,
                     "let image_url reach loopback/private addresses (tests only; SSRF risk)"));
    t.push_back(int_setting("image_url_timeout_seconds", &Config::image_url_timeout_s, 1, 120,
                            "image_url fetch timeout"));
    t.push_back(bool_setting("allow_anonymous", &Config::allow_anonymous,
                             "callers without credentials count as tier free by client IP"));
    t.push_back(
        string_setting("jwt_secret", &Config::jwt_secret, {}, "HS256 key (32+ bytes)", true));
    t.push_back(string_setting("jwt_issuer", &Config::jwt_issuer, {}, "iss claim"));
    t.push_back(
        int_setting("jwt_ttl_seconds", &Config::jwt_ttl_s, 60, 30 * 86400, "token lifetime"));
    t.push_back(int_setting("argon2_ops", &Config::argon2_ops, 1, 20, "argon2id passes"));
    t.push_back(int_setting("argon2_mem_kib", &Config::argon2_mem_kib, 8, 4 * 1024 * 1024,
                            "argon2id memory"));
    for (Tier tier : {Tier::free, Tier::authenticated, Tier::premium, Tier::admin}) {
      t.push_back(daily_limit_setting(tier));
    }
    t.push_back(int_setting("rate_limit_per_minute", &Config::global_per_minute, 0, 100000000,
                            "requests per minute, all callers together (0 = off)"));
    t.push_back(int_setting("rate_limit_per_hour", &Config::global_per_hour, 0, 1000000000,
                            "requests per hour, all callers together (0 = off)"));
    t.push_back(int_setting("identity_rate_limit_per_minute", &Config::identity_per_minute, 0,
                            100000000, "requests per minute per caller (0 = off)"));
    t.push_back(int_setting("block_after_violations", &Config::block_after_violations, 0, 1000000,
                            "rejections within a minute that block the caller (0 = never)"));
    t.push_back(int_setting("block_duration_seconds", &Config::block_duration_s, 0, 86400 * 30,
                            "how long a caller stays blocked"));
    t.push_back(string_setting("log_level", &Config::log_level,
                               {"trace", "debug", "info", "warn", "error", "critical", "off"},
                               "log level"));
    t.push_back(bool_setting("access_log", &Config::access_log, "one JSON line per request"));
    t.push_back(bool_setting("metrics_enabled", &Config::metrics_enabled, "serve /metrics"));
    t.push_back(bool_setting("detailed_health_admin_only", &Config::detailed_health_admin_only,
                             "/health/detailed needs an admin"));
    {
      Setting s{"required_models",
                "comma-separated models readiness needs (e.g. yolox-nano,mobilenet-v2)"};
      s.set = [](Config& c, const std::string& v) -> std::string {
        c.required_models.clear();
        std::stringstream ss(v);
        std::string item;
        while (std::getline(ss, item, ',')) {
          item = trim(item);
          if (!item.empty()) c.required_models.push_back(item);
        }
        return {};
      };
      s.get = [](const Config& c) {
        std::string out;
        for (auto& m : c.required_models) out += (out.empty() ? "" : ",") + m;
        return out;
      };
      t.push_back(std::move(s));
    }
    return t;
  }();
  return table;
}

const Setting* find_setting(std::string key) {
  key = lower(trim(key));
  if (key.rfind("atelier_", 0) == 0) key = key.substr(8);
  for (auto& s : settings()) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

// Reads KEY=VALUE lines (ATELIER_ prefix optional, quotes stripped, # comments).
Status read_env_file(const std::string& path,
                     std::vector<std::pair<std::string, std::string>>* out) {
  std::ifstream in(path);
  if (!in) return Status::invalid_argument("cannot read config file " + path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    auto t = trim(line);
    if (t.empty() || t[0] == '#') continue;
    if (t.rfind("export ", 0) == 0) t = trim(t.substr(7));
    auto eq = t.find('=');
    if (eq == std::string::npos) {
      return Status::invalid_argument(path + ":" + std::to_string(n) + ": expected KEY=VALUE");
    }
    auto k = trim(t.substr(0, eq));
    auto v = trim(t.substr(eq + 1));
    if (v.size() >= 2 && (v.front() == '"' || v.front() == '\'') && v.back() == v.front()) {
      v = v.substr(1, v.size() - 2);
    }
    out->emplace_back(k, v);
  }
  return Status::ok();
}

Status read_yaml_file(const std::string& path,
                      std::vector<std::pair<std::string, std::string>>* out) {
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (!root.IsMap()) return Status::invalid_argument(path + ": expected a mapping of settings");
    for (auto it : root) {
      auto key = it.first.as<std::string>();
      if (it.second.IsSequence()) {
        std::string joined;
        for (auto v : it.second) joined += (joined.empty() ? "" : ",") + v.as<std::string>();
        out->emplace_back(key, joined);
      } else if (it.second.IsScalar()) {
        out->emplace_back(key, it.second.as<std::string>());
      } else if (it.second.IsNull()) {
        out->emplace_back(key, "");
      } else {
        return Status::invalid_argument(std::string(path)
                                            .append(": setting '")
                                            .append(key)
                                            .append("' must be a scalar or a list"));
      }
    }
  } catch (const std::exception& e) {
    return Status::invalid_argument(path + ": " + e.what());
  }
  return Status::ok();
}

}  // namespace

std::map<std::string, std::string> environment_settings() {
  std::map<std::string, std::string> out;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    if (kv.rfind("ATELIER_", 0) != 0) continue;
    auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    out.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return out;
}

Result<Config> load_config(const ConfigSource& src, std::vector<std::string>* problems) {
  Config c;
  std::vector<std::string> errors;

  auto apply = [&](const std::string& origin, const std::string& key, const std::string& value,
                   bool unknown_is_error) {
    const Setting* s = find_setting(key);
    if (!s) {
      std::string msg = origin + ": unknown setting '" + key + "'";
      if (unknown_is_error) {
        errors.push_back(msg);
      } else {
        c.warnings.push_back(msg + " ignored");
      }
      return;
    }
    auto err = s->set(c, value);
    if (!err.empty()) errors.push_back(origin + ": " + s->key + " " + err);
  };

  std::string file = src.file;
  if (file.empty()) {
    auto it = src.env.find("ATELIER_CONFIG");
    if (it != src.env.end()) file = it->second;
  }
  if (!file.empty()) {
    std::vector<std::pair<std::string, std::string>> kv;
    const bool yaml = file.size() > 5 && (file.substr(file.size() - 5) == ".yaml" ||
                                          file.substr(file.size() - 4) == ".yml");
    Status st = yaml ? read_yaml_file(file, &kv) : read_env_file(file, &kv);
    if (!st.is_ok()) return st;
    for (auto& [k, v] : kv) apply(file, k, v, true);
    c.config_file = file;
  }
  for (auto& [k, v] : src.env) {
    if (k == "ATELIER_CONFIG") continue;
    // Unknown ATELIER_* variables are a warning, not an error: orchestrators
    // add their own (Kubernetes service links: ATELIER_SERVICE_HOST, ...).
    // Unknown keys in a config file stay errors: there a typo is ours.
    apply("environment " + k, k, v, false);
  }
  for (auto& [k, v] : src.flags) apply("flag --" + k, k, v, true);

  if (c.max_body_hard_bytes == 0) c.max_body_hard_bytes = 2 * c.max_body_bytes;
  if (c.max_body_hard_bytes < c.max_body_bytes) {
    errors.push_back("max_body_hard_bytes must be at least max_body_bytes");
    if (c.decode_pixel_budget != 0 && c.decode_pixel_budget < c.max_image_pixels)
      errors.push_back("decode_pixel_budget must be 0 or at least max_image_pixels");
  }
  const bool strict = c.env == "production" || c.env == "enterprise";
  if (strict && c.jwt_secret.size() < 32) {
    errors.push_back("jwt_secret must be set to at least 32 bytes in the " + c.env + " profile");
  } else if (!c.jwt_secret.empty() && c.jwt_secret.size() < 32) {
    errors.push_back("jwt_secret must be at least 32 bytes");
  }

  if (problems) {
    *problems = std::move(errors);
    return c;
  }
  if (!errors.empty()) {
    std::string msg = "invalid configuration:";
    for (auto& e : errors) msg += "\n  - " + e;
    return Status::invalid_argument(msg);
  }
  return c;
}

std::vector<std::pair<std::string, std::string>> describe_config(const Config& c) {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("config_file", c.config_file);
  for (auto& s : settings()) {
    std::string v = s.get(c);
    if (s.secret) v = v.empty() ? "(unset)" : "********";
    out.emplace_back(s.key, v);
  }
  return out;
}

}  // namespace atelier
