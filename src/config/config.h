// Effective configuration: defaults < config file (YAML or .env) < environment
// (ATELIER_*) < command-line flags. Every setting is declared once in
// config.cpp's table (name, default, kind, bounds, secret, help); loading,
// validation and `config show` all read that table.
//
// Loading collects one message per bad value and fails with all of them, so
// an operator fixes a profile in one pass.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "core/tier.h"

namespace atelier {

struct Config {
  // profile and locations
  std::string env = "development";
  std::string config_file;
  std::string data_dir = "./data";
  std::string models_dir;      // ':'-separated search path; empty: discovered (app.cpp)
  std::string docs_dir;        // swagger-ui-dist; empty: discovered
  std::string stopwords_file;  // stopwords-iso.json; empty: discovered

  // network
  std::string host = "127.0.0.1";
  int port = 8080;
  int io_threads = 0;  // 0: 1, or 4 with Redis (see app.cpp)
  int max_connections = 1024;
  int read_timeout_s = 30;
  int request_timeout_s = 60;
  int drain_timeout_s = 20;
  std::int64_t max_body_bytes = 20LL * 1024 * 1024;
  std::int64_t max_body_hard_bytes = 0;  // 0: 2x max_body_bytes
  bool trust_forwarded_for = false;
  std::vector<std::string> cors_origins;

  // work
  int workers = 0;  // 0: hardware threads
  // "" : SQLite at <data_dir>/atelier.db; postgresql://user:pass@host:port/db
  // for PostgreSQL (replicas share it).
  std::string database_url;
  // Redis for the state replicas share (empty: all in-process).
  std::string redis_url;
  std::string redis_failure = "closed";  // "closed" or "open"
  std::int64_t stream_lease_s = 30;      // a dead replica's open streams lapse after this
  int credential_cache_s = 2;            // verified keys and users are remembered this long
  int database_pool = 0;                 // connections; 0: one per thread that may use the database
  int queue_capacity = 64;

  // AI (used by the capability issues; validated here so profiles are complete)
  std::string ai_engine = "local";
  bool deterministic = false;
  int max_resolution = 1536;
  int ai_timeout_s = 120;
  std::int64_t max_image_pixels = 40'000'000;
  // Pixels being decoded at once across all requests (0: twice
  // max_image_pixels). Decodes beyond it wait briefly, then answer 503.
  std::int64_t decode_pixel_budget = 0;
  int max_input_length = 20000;
  int cache_size = 1024;
  std::int64_t cache_ttl_s = 86400;                // shared (Redis) cache entries
  std::string embedding_model = "glove-sif-100d";  // default for /v1/embeddings
  // Hybrid search fusion (reciprocal rank fusion), chosen on the SciFact train
  // judgments with the local GloVe-SIF vectors: nDCG@10 bm25 0.699, hybrid
  // 0.701 at k=5 / vector weight 0.1; every setting at the customary k=60 fell
  // below BM25 alone (0.498 at equal weights), as these vectors are weak on
  // scientific text. Stronger encoders will want other values.
  double search_rrf_k = 5;
  double search_bm25_weight = 1.0;
  double search_vector_weight = 0.1;
  int search_flat_max = 20000;   // exact search up to this many vectors, HNSW above
  int search_ivf_min = 1000000;  // FAISS IVF above this many vectors
  int search_ivf_nprobe = 32;

  // vision and image models
  int inference_workers = 16;  // threads that wait on batched models (mostly idle)
  int outbound_workers = 64;   // threads that wait on hosted engines and streaming clients
  int inference_queue = 64;    // queued inference requests before 503
  int model_threads = 0;       // OpenCV DNN threads per forward (0 = cores)
  int batch_max = 8;           // inputs per forward
  double batch_window_ms = 5;  // wait for stragglers while under load
  // interior design studio
  int design_workers = 2;   // jobs run at once
  int design_queue = 64;    // jobs queued (on all replicas) before 503
  int design_lease_s = 15;  // a running job's claim, renewed while it runs
  bool design_engine_per_request = true;
  double design_cost_local = 0;  // USD per generation
  double design_cost_replicate = 0.05;
  double design_cost_hf = 0.02;
  double design_monthly_budget = 0;  // USD across everyone; 0 = no budget
  int design_daily_free = 3, design_daily_authenticated = 5, design_daily_premium = 20,
      design_daily_admin = 100;
  int design_retention_days = 0;  // delete designs older than this; 0 = keep
  int wardrobe_worn_days = 7;     // recommendations leave out items worn this recently
  std::string replicate_base_url = "https://api.replicate.com/v1";
  std::string replicate_api_token;      // the engine is on when this and the version are set
  std::string replicate_model_version;  // an SDXL + ControlNet canny version id
  std::string replicate_output_hosts = "replicate.delivery,*.replicate.delivery";
  int replicate_poll_ms = 1000;
  std::string hf_endpoint_url;  // a Hugging Face Inference Endpoint; on when set
  std::string hf_api_token;
  bool hosted_allow_private = false;  // hosted engines on loopback/private addresses: tests only
  int breaker_threshold = 5;          // consecutive failures that open an engine's circuit
  int breaker_cooldown_s = 30;

  // native transformer encoders (Hugging Face folders in the models path)
  std::string native_models =
      "auto";  // auto: every BERT/CLIP folder found; none; or a comma list of folder names
  int encoder_threads = 0;  // OpenBLAS threads (process-wide; 0 = serve's default of 1, as request
                            // threads each search)
  std::string hf_endpoint = "https://huggingface.co";  // `models pull` source
  std::string model_catalog;   // models.json for `models pull`; empty: found beside the binary
  int encoder_batch_max = 16;  // sequences or images per forward
  int ocr_instances = 2;       // Tesseract engines (one per concurrent OCR call)
  std::string ocr_language = "eng";
  std::string tessdata_dir;              // empty: Tesseract's default
  std::string caption_engine = "local";  // local (grounded) | openai (any OpenAI-compatible server)
  std::string openai_base_url;           // e.g. https://api.openai.com/v1
  std::string openai_model = "gpt-4o-mini";
  std::string openai_api_key;
  int openai_timeout_s = 30;
  // Chat: an OpenAI-compatible server answering as `chat_openai_model` (the
  // name callers put in `model`); empty base URL: the local engine only.
  std::string chat_openai_base_url;
  std::string chat_openai_model = "gpt-4o-mini";
  std::string chat_openai_api_key;
  int chat_openai_timeout_s = 120;
  int chat_openai_idle_s = 30;    // a stream silent this long is abandoned
  int chat_keepalive_s = 10;      // a quiet stream gets a ": ping" comment this often
  int chat_streams_per_user = 4;  // open chat streams one identity may hold
  // Each this many answer tokens delivered cost one more quota unit beyond
  // the request's own (0: per request only).
  int chat_tokens_per_unit = 0;
  int ws_ping_s = 20;          // WebSocket keep-alive ping interval
  int ws_auth_s = 10;          // a socket without credentials signs in within this, or closes
  int ws_idle_s = 300;         // no message either way for this long: closed
  int ws_unsigned_per_ip = 8;  // sockets not yet signed in, per client address
  // image_url fetching: off unless hosts are listed ("cdn.example.com,*.example.org")
  std::string image_url_hosts;
  bool image_url_allow_private = false;  // loopback/private targets: tests only
  int image_url_timeout_s = 10;

  // identity
  bool allow_anonymous = true;
  std::string jwt_secret;  // empty in development: generated and kept in data dir
  std::string jwt_issuer = "atelier";
  int jwt_ttl_s = 3600;
  int argon2_ops = 2;          // crypto_pwhash_OPSLIMIT_INTERACTIVE
  int argon2_mem_kib = 65536;  // 64 MiB, MEMLIMIT_INTERACTIVE

  // quotas (cost units per UTC day; 0 = unlimited) and limits (0 = off)
  std::int64_t daily_limit[4] = {100, 1000, 10000, 0};
  int global_per_minute = 0;
  int global_per_hour = 0;
  int identity_per_minute = 120;
  int block_after_violations = 5;
  int block_duration_s = 300;

  // observability
  std::string log_level = "info";
  bool access_log = true;
  bool metrics_enabled = true;
  bool detailed_health_admin_only = false;
  // Models readiness needs (names as /health/ready shows them after "model:",
  // e.g. yolox-nano): a replica without one of them never goes Ready, rather
  // than serving 503 on vision or the wardrobe.
  std::vector<std::string> required_models;

  // Non-fatal findings while loading (unknown ATELIER_* variables); logged at start.
  std::vector<std::string> warnings;
};

struct ConfigSource {
  std::string file;                          // --config / ATELIER_CONFIG
  std::map<std::string, std::string> env;    // ATELIER_* environment
  std::map<std::string, std::string> flags;  // from the command line, keys as in the table
};

// Reads the process environment's ATELIER_* variables.
std::map<std::string, std::string> environment_settings();

// Every bad value is named in one invalid_argument. With `problems` given,
// they are listed there instead and the configuration is returned as far as
// it could be read (for `config show`); an unreadable file still fails.
Result<Config> load_config(const ConfigSource& src, std::vector<std::string>* problems = nullptr);

// (name, value) pairs of the effective configuration, secrets masked.
std::vector<std::pair<std::string, std::string>> describe_config(const Config& c);

}  // namespace atelier
