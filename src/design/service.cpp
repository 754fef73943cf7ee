#include "design/service.h"

#include <sodium.h>
#include <opencv2/imgcodecs.hpp>

#include <unistd.h>

#include <chrono>
#include <ctime>

#include "core/clock.h"
#include "core/ids.h"
#include "design/control.h"
#include "design/presets.h"
#include "image/image.h"
#include "obs/log.h"
#include "vision/colors.h"

namespace atelier::design {

namespace {

std::int64_t now_ms() {
  return unix_millis();
}

bool terminal(const std::string& status) {
  return status == "succeeded" || status == "failed" || status == "cancelled";
}

std::string gen_identity(const std::string& owner) {
  return "gen:" + owner;
}

// Midnight UTC of today and the first of this month, in unix ms.
std::pair<std::int64_t, std::int64_t> day_and_month_start() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  const std::int64_t day = static_cast<std::int64_t>(timegm(&tm)) * 1000;
  tm.tm_mday = 1;
  const std::int64_t month = static_cast<std::int64_t>(timegm(&tm)) * 1000;
  return {day, month};
}

// This process's name on the leases it takes: host, process id and a random
// part (a restarted process is another worker).
std::string worker_name() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = 0;
  return std::string(host) + ":" + std::to_string(getpid()) + ":" + random_id("").substr(0, 8);
}

}  // namespace

DesignService::DesignService(DesignRepository& store, BlobStore& blobs, QuotaLedger& ledger,
                             std::map<std::string, engines::DesignEngine*> engines,
                             DesignSettings settings, DesignObserver observer,
                             std::int64_t max_image_pixels, std::unique_ptr<cache::Cache> controls)
    : store_(store),
      blobs_(blobs),
      ledger_(ledger),
      engines_(std::move(engines)),
      settings_(std::move(settings)),
      observer_(std::move(observer)),
      max_image_pixels_(max_image_pixels),
      controls_(controls ? std::move(controls)
                         : std::make_unique<cache::LruCache>(4096, std::size_t(1) << 20)),
      worker_id_(worker_name()) {
  for (int i = 0; i < std::max(1, settings_.workers); ++i)
    threads_.emplace_back([this] { worker(); });
  threads_.emplace_back([this] { keeper(); });
}

DesignService::~DesignService() {
  {
    MutexLock lk(mu_);
    stopping_ = true;
    // Running jobs are told to stop; their rows stay `running` until the
    // lease runs out, and a replica (or the next start) claims them again.
    for (auto& [id, cs] : running_) cs.cancel();
  }
  work_cv_.notify_all();
  for (auto& t : threads_) t.join();
}

std::vector<std::string> DesignService::engines() const {
  std::vector<std::string> out;
  for (auto& [k, v] : engines_) out.push_back(k);
  return out;
}

std::size_t DesignService::queued() const {
  auto n = store_.count_queued();
  return n.is_ok() ? static_cast<std::size_t>(*n) : 0;
}

Result<Room> DesignService::add_room(const std::string& owner, const std::string& name,
                                     const std::string& room_type, const std::string& bytes,
                                     const std::string& content_type, int width, int height,
                                     const WorkContext& work) {
  if (!find_room_type(room_type))
    return Status::invalid_argument("unknown room type '" + room_type + "'");
  if (name.size() > 200) return Status::invalid_argument("'name' is longer than 200 characters");
  ATELIER_ASSIGN_OR_RETURN(std::string hash, blobs_.put(bytes));
  Room r{random_id("rm_"), owner, name, room_type, hash, content_type, width, height, now_ms()};
  auto made = store_.in(work).create_room(r);
  if (!made.is_ok()) {
    collect_blobs({hash});  // no row took it (the owner's erasure began, say)
    return made.status();
  }
  ATELIER_RETURN_IF_ERROR(keep_blob(hash, bytes));
  // An erasure that passed between the row and keep_blob() left the photo.
  if (auto still = store_.find_room(owner, r.id); !still.is_ok()) {
    if (still.status().code() != Code::not_found) return still.status();
    collect_blobs({hash});
    return Status::not_found("the room was deleted while it was stored");
  }
  return *made;
}

Status DesignService::keep_blob(const std::string& hash, const std::string& bytes) {
  if (blobs_.exists(hash)) return Status::ok();
  return blobs_.put(bytes).status();
}

Status DesignService::delete_room(const std::string& owner, const std::string& id,
                                  const WorkContext& work) {
  DesignRepository store = store_.in(work);
  ATELIER_ASSIGN_OR_RETURN(Room r, store.find_room(owner, id));
  ATELIER_RETURN_IF_ERROR(store.delete_room(owner, id));
  collect_blobs({r.blob});
  return Status::ok();
}

namespace {
// The IETF Idempotency-Key draft: reusing a key for a different request is
// a client error (422), not a replay. Jobs stored before digests were kept
// have none and replay as before.
Status same_request(const Design& earlier, const CreateDesign& req) {
  if (earlier.request_hash.empty() || req.request_hash.empty() ||
      earlier.request_hash == req.request_hash) {
    return Status::ok();
  }
  return Status::unprocessable(
      "this Idempotency-Key was used for a different request; use a new key for new content");
}
}  // namespace

namespace {
// The queued job's fields from the request, its prompt and its day.
void fill_queued(Design& d, const CreateDesign& req, const std::string& engine,
                 const std::string& room_type, const Prompt& p, const std::string& day,
                 bool deterministic) {
  d.id = random_id("ds_");
  d.style = req.style;
  d.room_type = room_type;
  d.extra_prompt = req.extra_prompt;
  d.prompt = p.positive;
  d.negative_prompt = p.negative;
  d.preset_version = p.version;
  d.strength = req.strength;
  if (req.seed) {
    d.seed = *req.seed;
  } else if (!deterministic) {
    d.seed = static_cast<std::int64_t>(randombytes_random() & 0x7fffffff);
  }
  d.engine = engine;
  d.status = "queued";
  d.quota_day = day;
  d.idempotency_key = req.idempotency_key;
  d.request_hash = req.request_hash;
  if (req.canny_low) {
    d.canny_low = *req.canny_low;
    d.canny_high = *req.canny_high;
  }
  d.created_at = now_ms();
}
}  // namespace

Status DesignService::check_create(const CreateDesign& req, const std::string& engine) const {
  if (!engines_.count(engine)) {
    std::string names;
    for (auto& [k, v] : engines_) names += (names.empty() ? "" : ", ") + k;
    return Status::invalid_argument("engine '" + engine + "' is not configured; engines: " + names);
  }
  if (!req.engine.empty() && engine != settings_.default_engine && !settings_.engine_per_request)
    return Status::permission_denied("choosing the engine per request is disabled");
  if (!(req.strength >= 0.0 && req.strength <= 1.0))
    return Status::invalid_argument("'strength' must lie in [0, 1]");
  if (req.canny_low.has_value() != req.canny_high.has_value() ||
      (req.canny_low &&
       (*req.canny_low < 0 || *req.canny_high > 1000 || *req.canny_low > *req.canny_high)))
    return Status::invalid_argument(
        "give both 'canny_low' and 'canny_high', with 0 <= low <= high <= 1000");
  if (req.idempotency_key && (req.idempotency_key->empty() || req.idempotency_key->size() > 255))
    return Status::invalid_argument("Idempotency-Key must have 1 to 255 characters");
  return Status::ok();
}

Status DesignService::reserve_generation(DesignRepository& store, const CreateDesign& req) {
  // The queue is the table, shared by the replicas: a full one refuses at
  // once and charges nothing.
  ATELIER_ASSIGN_OR_RETURN(std::int64_t waiting, store.count_queued());
  if (waiting >= static_cast<std::int64_t>(settings_.queue_capacity))
    return Status::unavailable("the design queue is full; retry shortly");
  const std::int64_t limit = settings_.daily_generations[std::clamp(req.tier, 0, 3)];
  Decision q = ledger_.reserve(gen_identity(req.owner), 1, limit);
  if (!q.allowed && observer_.refused) observer_.refused(req.tier, "daily_generations");
  if (!q.allowed)
    return Status::resource_exhausted("daily generation limit reached (" + std::to_string(limit) +
                                      " per day for this tier)");
  return Status::ok();
}

Result<Created> DesignService::insert_failed(const Status& failed, const CreateDesign& req,
                                             const Design& d, const std::string& day) {
  ledger_.refund(gen_identity(req.owner), day, 1);
  if (failed.code() == Code::resource_exhausted && observer_.refused)
    observer_.refused(req.tier, "monthly_budget");
  if (failed.code() == Code::already_exists && req.idempotency_key) {
    // A concurrent retry with the same key won the insert.
    ATELIER_ASSIGN_OR_RETURN(Design other,
                             store_.find_design_by_key(req.owner, *req.idempotency_key));
    ATELIER_RETURN_IF_ERROR(same_request(other, req));
    return Created{other, false};
  }
  if (!req.room_id) collect_blobs({d.input_blob});
  return failed;
}

Result<Created> DesignService::create(const CreateDesign& req, const WorkContext& work) {
  // Reads and the insert honour the request; once the design row exists the
  // bookkeeping after it (a refund, a failed queue) runs to the end.
  DesignRepository store = store_.in(work);
  const std::string engine = req.engine.empty() ? settings_.default_engine : req.engine;
  ATELIER_RETURN_IF_ERROR(check_create(req, engine));
  if (req.idempotency_key) {
    auto existing = store.find_design_by_key(req.owner, *req.idempotency_key);
    if (existing.is_ok()) {
      ATELIER_RETURN_IF_ERROR(same_request(*existing, req));
      return Created{std::move(existing).value(), false};
    }
  }

  Design d;
  d.owner = req.owner;
  std::string room_type = req.room_type;
  if (req.room_id) {
    ATELIER_ASSIGN_OR_RETURN(Room r, store.find_room(req.owner, *req.room_id));
    d.room_id = r.id;
    d.input_blob = r.blob;
    d.input_type = r.content_type;
    if (room_type.empty()) room_type = r.room_type;
  } else if (req.image_bytes.empty()) {
    return Status::invalid_argument("give a 'room_id' or an 'image'");
  }
  if (room_type.empty()) room_type = "other";
  ATELIER_ASSIGN_OR_RETURN(Prompt p, build_prompt(req.style, room_type, req.extra_prompt));

  if (!req.room_id) {
    ATELIER_ASSIGN_OR_RETURN(d.input_blob, blobs_.put(req.image_bytes));
    d.input_type = req.image_type;
  }

  ATELIER_RETURN_IF_ERROR(reserve_generation(store, req));
  const std::string day = utc_day(std::time(nullptr));
  fill_queued(d, req, engine, room_type, p, day, settings_.deterministic);
  // The job holds its cost against the monthly budget from now on; a failed
  // or cancelled one gives it back (the budget counts queued, running and
  // succeeded jobs).
  d.cost =
      settings_.cost_per_generation.count(engine) ? settings_.cost_per_generation.at(engine) : 0.0;
  auto made =
      settings_.monthly_budget > 0
          ? store.create_design_within(d, settings_.monthly_budget, day_and_month_start().second)
          : store.create_design(d);
  if (!made.is_ok()) return insert_failed(made.status(), req, d, day);
  if (!req.room_id) ATELIER_RETURN_IF_ERROR(keep_blob(d.input_blob, req.image_bytes));
  {
    MutexLock lk(mu_);
    ++wakeups_;
  }
  work_cv_.notify_one();  // another replica's idle worker may claim it first
  return Created{d, true};
}

Result<Design> DesignService::wait(const std::string& owner, const std::string& id,
                                   std::chrono::milliseconds wait, const WorkContext& work) {
  const auto until = std::chrono::steady_clock::now() + wait;
  for (;;) {
    ATELIER_ASSIGN_OR_RETURN(Design d, store_.in(work).find_design(owner, id));
    if (terminal(d.status) || std::chrono::steady_clock::now() >= until) return d;
    MutexLock lk(mu_);
    done_cv_.wait_until(
        mu_, std::min(until, std::chrono::steady_clock::now() + std::chrono::milliseconds(200)));
  }
}

Result<Design> DesignService::cancel(const std::string& owner, const std::string& id,
                                     const WorkContext& work) {
  ATELIER_ASSIGN_OR_RETURN(Design d, store_.in(work).find_design(owner, id));
  for (const char* from : {"queued", "running"}) {
    if (d.status != from) continue;
    Design c = d;
    c.status = "cancelled";
    c.error = "cancelled by the caller";
    c.finished_at = now_ms();
    ATELIER_ASSIGN_OR_RETURN(bool wrote, store_.update_design(c, std::string(from)));
    if (wrote) {
      ledger_.refund(gen_identity(owner), d.quota_day, 1);
      {
        MutexLock lk(mu_);
        if (auto it = running_.find(id); it != running_.end()) it->second.cancel();
      }
      done_cv_.notify_all();
      if (observer_.finished) observer_.finished(d.engine, "cancelled", 0, 0);
      return c;
    }
    // It moved on meanwhile: read where it is now. A worker that took it from
    // the queue made it running, which the next turn cancels (a cluster test on
    // a busy machine saw a cancel answer "running" here, issue 23); a job
    // that ended is reported as it ended.
    ATELIER_ASSIGN_OR_RETURN(d, store_.in(work).find_design(owner, id));
  }
  return d;
}

Status DesignService::remove(const std::string& owner, const std::string& id,
                             const WorkContext& work) {
  ATELIER_ASSIGN_OR_RETURN(Design d, cancel(owner, id, work));
  ATELIER_RETURN_IF_ERROR(store_.in(work).delete_design(owner, id));
  std::vector<std::string> blobs{d.input_blob};
  if (d.output_blob) blobs.push_back(*d.output_blob);
  if (d.control_blob) blobs.push_back(*d.control_blob);
  collect_blobs(blobs);
  return Status::ok();
}

void DesignService::collect_blobs(const std::vector<std::string>& candidates) {
  // Each candidate is moved aside before the check, so an upload of the same
  // bytes after the check writes it anew; an upload whose put() came before
  // the check and its row after writes it again (keep_blob).
  for (const auto& h : candidates)
    (void)blobs_.remove_unless(h, [&] { return store_.blob_in_use(h); });
}

Result<std::pair<double, double>> DesignService::spend(const std::string& owner,
                                                       const WorkContext& work) {
  const auto [day, month] = day_and_month_start();
  DesignRepository store = store_.in(work);
  ATELIER_ASSIGN_OR_RETURN(double d, store.design_spend(owner, day));
  ATELIER_ASSIGN_OR_RETURN(double m, store.design_spend(owner, month));
  return std::make_pair(d, m);
}

Status DesignService::delete_owner(const std::string& owner) {
  std::vector<std::string> blobs;
  ATELIER_ASSIGN_OR_RETURN(auto rooms, store_.list_rooms(owner));
  for (auto& r : rooms) blobs.push_back(r.blob);
  std::optional<PagePosition> cursor;
  do {
    ATELIER_ASSIGN_OR_RETURN(auto page, store_.list_designs(owner, std::nullopt, 500, cursor));
    for (auto& d : page.items) {
      if (!terminal(d.status)) (void)cancel(owner, d.id);
      blobs.push_back(d.input_blob);
      if (d.output_blob) blobs.push_back(*d.output_blob);
      if (d.control_blob) blobs.push_back(*d.control_blob);
    }
    cursor = page.next;
  } while (cursor);
  ATELIER_RETURN_IF_ERROR(store_.delete_design_data(owner));
  collect_blobs(blobs);
  return Status::ok();
}

Result<int> DesignService::apply_retention() {
  if (settings_.retention_days <= 0) return 0;
  ATELIER_ASSIGN_OR_RETURN(auto old,
                           store_.designs_before(now_ms() - settings_.retention_days * 86'400'000));
  int n = 0;
  for (const auto& [owner, id] : old)
    if (remove(owner, id).is_ok()) ++n;
  return n;
}

Result<int> DesignService::recover() {
  ATELIER_ASSIGN_OR_RETURN(std::int64_t n, store_.count_claimable(now_ms(), kMaxAttempts));
  {
    MutexLock lk(mu_);
    wakeups_ += n;
  }
  work_cv_.notify_all();
  return static_cast<int>(n);
}

void DesignService::worker() {
  for (;;) {
    {
      MutexLock lk(mu_);
      if (stopping_) return;  // queued rows stay queued in the database
    }
    auto claimed = store_.claim_design(worker_id_, now_ms(), now_ms() + settings_.lease.count());
    if (claimed.is_ok() && *claimed) {
      Design d = std::move(**claimed);
      // Engines return Status, but OpenCV and the standard library throw; a
      // throw must fail the one job, not the process.
      try {
        run_job(d);
      } catch (const std::exception& e) {
        finish(d, "failed", std::string("internal: ") + e.what());
      }
      continue;
    }
    // Nothing to claim (or the database is away): wait for a job made here,
    // and look again now and then for jobs made elsewhere and leases that
    // ran out.
    MutexLock lk(mu_);
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(claimed.is_ok() ? 500 : 1000);
    while (!stopping_ && wakeups_ <= 0)
      if (!work_cv_.wait_until(mu_, until)) break;
    if (wakeups_ > 0) --wakeups_;
  }
}

void DesignService::keeper() {
  for (;;) {
    std::vector<std::pair<std::string, CancelSource>> jobs;
    {
      MutexLock lk(mu_);
      if (stopping_) return;
      done_cv_.wait_for(
          mu_, std::min<std::chrono::milliseconds>(std::chrono::seconds(1), settings_.lease / 3));
      if (stopping_) return;
      jobs.assign(running_.begin(), running_.end());
    }
    for (auto& [id, cs] : jobs) {
      auto kept = store_.renew_lease(id, worker_id_, now_ms() + settings_.lease.count());
      // Cancelled on some replica, or taken over after the lease ran out
      // (this process stalled): stop the engine; the row is someone else's.
      if (kept.is_ok() && !*kept) cs.cancel();
    }
  }
}

Result<std::string> DesignService::control_for(const std::string& input_hash, const cv::Mat& bgr,
                                               int low, int high) {
  const std::string key = input_hash + "/" + std::to_string(low) + "/" + std::to_string(high);
  if (auto hit = controls_->get(key); hit && blobs_.exists(*hit)) return *hit;
  const EdgeMap e = canny(bgr, {low, high});
  std::vector<unsigned char> png;
  if (!cv::imencode(".png", e.edges, png))
    return Status::internal("cannot encode the control image");
  ATELIER_ASSIGN_OR_RETURN(std::string h, blobs_.put(std::string(png.begin(), png.end())));
  controls_->put(key, h);
  return h;
}

void DesignService::finish(Design d, const std::string& status, const std::string& error) {
  d.status = status;
  d.error = error;
  d.finished_at = now_ms();
  if (status != "succeeded") d.cost = 0;
  // Only while this worker holds the job: a cancel elsewhere (which refunded
  // already) or a takeover after the lease ran out has the last word.
  auto wrote = store_.finish_leased(d, worker_id_);
  if (wrote.is_ok() && *wrote) {
    if (status == "failed" || status == "cancelled")
      ledger_.refund(gen_identity(d.owner), d.quota_day, 1);
    const double seconds =
        d.started_at ? static_cast<double>(*d.finished_at - *d.started_at) / 1000.0 : 0.0;
    if (observer_.finished) observer_.finished(d.engine, status, seconds, d.cost);
  }
  {
    MutexLock lk(mu_);
    running_.erase(d.id);
  }
  done_cv_.notify_all();
}

namespace {
// The style's palette (as Lab colours) and tone.
void apply_style(engines::DesignRequest& er, const StylePreset& style) {
  for (const auto& name : style.palette) {
    int r, g, b;
    if (vision::named_color_rgb(name, &r, &g, &b)) {
      const auto lab = vision::srgb_to_lab(r, g, b);
      er.palette.push_back({lab.L, lab.a, lab.b});
    }
  }
  er.warmth = style.tone.warmth;
  er.saturation = style.tone.saturation;
  er.contrast = style.tone.contrast;
  er.brightness = style.tone.brightness;
}

// What the engine is asked: the room, its control image, the prompts, the
// style and the job's strength and seed.
engines::DesignRequest engine_request(const Design& d, const cv::Mat& bgr, const std::string& bytes,
                                      const Result<std::string>& control_png) {
  engines::DesignRequest er;
  er.bgr = bgr;
  er.image_bytes = bytes;
  er.image_type = d.input_type;
  if (control_png.is_ok())
    er.control = cv::imdecode(std::vector<unsigned char>(control_png->begin(), control_png->end()),
                              cv::IMREAD_GRAYSCALE);
  er.prompt = d.prompt;
  er.negative = d.negative_prompt;
  const StylePreset* style = find_style(d.style);
  if (style) apply_style(er, *style);
  er.strength = d.strength;
  er.seed = static_cast<std::uint64_t>(d.seed);
  return er;
}
}  // namespace

void DesignService::fail_job(const Design& d, const CancelSource& cs, const Status& s) {
  const bool cancelled = cs.cancelled();
  bool stopping = false;
  {
    MutexLock lk(mu_);
    stopping = stopping_;
  }
  if (cancelled && stopping) {
    // This replica is shutting down: the job goes back to the queue for
    // another replica (or the next start), not to the caller as cancelled.
    (void)store_.release_lease(d.id, worker_id_);
    MutexLock lk(mu_);
    running_.erase(d.id);
    return;
  }
  finish(d, cancelled ? "cancelled" : "failed",
         cancelled ? "cancelled" : std::string(code_name(s.code())) + ": " + s.message());
}

void DesignService::run_job(Design d) {
  CancelSource cs;
  {
    MutexLock lk(mu_);
    running_[d.id] = cs;
  }
  // Claimed a third time: the replicas that ran it died twice.
  if (d.attempts > kMaxAttempts) {
    return finish(d, "failed", "interrupted by restarts twice; not retried again");
  }
  const WorkContext work{Deadline::after(settings_.ai_timeout), cs.token()};
  auto fail = [&](const Status& s) { fail_job(d, cs, s); };
  auto bytes = blobs_.get(d.input_blob);
  if (!bytes.is_ok()) return fail(bytes.status());
  auto img = image::decode(*bytes, {max_image_pixels_, 2048});
  if (!img.is_ok()) return fail(img.status());
  auto control =
      control_for(d.input_blob, img->bgr, d.canny_low ? static_cast<int>(*d.canny_low) : -1,
                  d.canny_high ? static_cast<int>(*d.canny_high) : -1);
  if (!control.is_ok()) return fail(control.status());
  d.control_blob = *control;
  auto control_png = blobs_.get(*control);
  const engines::DesignRequest er = engine_request(d, img->bgr, *bytes, control_png);
  const auto engine = engines_.find(d.engine);
  if (engine == engines_.end())  // e.g. a job queued before a restart that dropped the engine
    return fail(Status::unavailable("engine '" + d.engine + "' is no longer configured"));
  auto out = engine->second->generate(er, work);
  if (!out.is_ok()) return fail(out.status());
  auto hash = blobs_.put(out->image);
  if (!hash.is_ok()) return fail(hash.status());
  d.output_blob = *hash;
  d.output_type = out->content_type;
  d.engine_detail = out->engine_detail;
  d.cost = settings_.cost_per_generation.count(d.engine)
               ? settings_.cost_per_generation.at(d.engine)
               : 0.0;
  finish(d, "succeeded", "");
  if (Status kept = keep_blob(*hash, out->image); !kept.is_ok())
    log::warn("design output not kept", {{"design", d.id}, {"error", kept.message()}});
}

}  // namespace atelier::design
