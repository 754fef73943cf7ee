#include "engines/hosted/design_hosted.h"

#include <opencv2/imgcodecs.hpp>

#include <nlohmann/json.hpp>
#include <thread>

#include "core/base64.h"
#include "net/http_client.h"

namespace atelier::engines {

namespace {

std::string control_png(const DesignRequest& req) {
  std::vector<unsigned char> png;
  if (req.control.empty() || !cv::imencode(".png", req.control, png)) return {};
  return std::string(png.begin(), png.end());
}

// A hosted answer we cannot use is the service's fault: 503, so the
// breaker counts it and the job fails with a clear reason.
Status bad_answer(const std::string& who, const std::string& what) {
  return Status::unavailable(who + " answered " + what);
}

Result<nlohmann::json> json_of(const net::OutboundResponse& r, const std::string& who) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return bad_answer(
        who, "HTTP " + std::to_string(r.status) + " with a body that is not a JSON object");
  return j;
}

std::string detail_of(const net::OutboundResponse& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object()) {
    for (const char* k : {"detail", "error", "message"})
      if (j.contains(k) && j[k].is_string()) return j[k].get<std::string>();
  }
  return r.body.substr(0, 200);
}

}  // namespace

namespace {

// One prediction on Replicate's HTTP API: created, polled until it ends,
// its output fetched. A deadline or cancellation cancels it there too.
class ReplicatePrediction {
 public:
  ReplicatePrediction(const ReplicateOptions& opt, const WorkContext& work)
      : opt_(opt),
        work_(work),
        auth_{{"Authorization", "Bearer " + opt.token}, {"Content-Type", "application/json"}} {}

  Status create(const DesignRequest& req) {
    nlohmann::json input = {
        {"image", "data:" + (req.image_type.empty() ? std::string("image/jpeg") : req.image_type) +
                      ";base64," + base64_encode(req.image_bytes)},
        {"prompt", req.prompt},
        {"negative_prompt", req.negative},
        {"seed", req.seed},
        {"prompt_strength", req.strength}};
    if (const auto c = control_png(req); !c.empty())
      input["control_image"] = "data:image/png;base64," + base64_encode(c);
    net::OutboundRequest create;
    create.method = "POST";
    create.url = opt_.base_url + "/predictions";
    create.headers = auth_;
    create.body = nlohmann::json{{"version", opt_.version}, {"input", input}}.dump();
    create.max_response_bytes = 1u << 20;
    ATELIER_ASSIGN_OR_RETURN(auto created, net::fetch(create, work_));
    ATELIER_RETURN_IF_ERROR(refused(created));
    ATELIER_ASSIGN_OR_RETURN(pred_, json_of(created, "replicate"));
    if (!pred_.contains("id") || !pred_["id"].is_string() || !pred_.contains("urls") ||
        !pred_["urls"].is_object() || !pred_["urls"].contains("get") ||
        !pred_["urls"]["get"].is_string())
      return bad_answer("replicate", "a prediction without id or urls.get");
    id_ = pred_["id"];
    get_url_ = pred_["urls"]["get"];
    cancel_url_ = pred_["urls"].value("cancel", opt_.base_url + "/predictions/" + id_ + "/cancel");
    return Status::ok();
  }

  // Polls until the prediction succeeds; its end otherwise as a status.
  Status await() {
    for (;;) {
      const std::string status = pred_.value("status", "");
      if (status == "succeeded") return Status::ok();
      if (status == "failed" || status == "canceled") {
        const std::string err = pred_.contains("error") && pred_["error"].is_string()
                                    ? pred_["error"].get<std::string>()
                                    : status;
        std::string what = "replicate prediction ";
        what.append(id_).append(" ").append(status).append(": ").append(err);
        return Status::unavailable(std::move(what));
      }
      if (status != "starting" && status != "processing")
        return bad_answer("replicate", "status '" + status + "'");
      ATELIER_RETURN_IF_ERROR(sleep_until_next_poll());
      net::OutboundRequest poll;
      poll.url = get_url_;
      poll.headers = auth_;
      poll.max_response_bytes = 1u << 20;
      auto got = net::fetch(poll, work_);
      if (!got.is_ok()) {
        if (got.status().code() == Code::cancelled) cancel_remote();
        if (got.status().code() == Code::deadline_exceeded) return timed_out();
        return got.status();
      }
      if (got->status >= 500)
        return bad_answer("replicate", "HTTP " + std::to_string(got->status) + " while polling");
      ATELIER_ASSIGN_OR_RETURN(pred_, json_of(*got, "replicate"));
    }
  }

  // The succeeded prediction's image, from a host the configuration allows.
  Result<DesignResult> output() {
    std::string url;
    const auto& out = pred_["output"];
    if (out.is_string())
      url = out;
    else if (out.is_array() && !out.empty() && out.back().is_string())
      url = out.back();
    if (url.empty()) return bad_answer("replicate", "a succeeded prediction without an output URL");
    net::UrlPolicy policy;
    policy.allowed_hosts = opt_.output_hosts;
    policy.allow_private = opt_.allow_private;
    policy.max_bytes = 32u << 20;
    policy.timeout = std::min<std::chrono::milliseconds>(std::chrono::milliseconds(60000),
                                                         work_.deadline.remaining());
    auto img = net::fetch_url(url, policy, work_);
    if (!img.is_ok()) {
      if (img.status().code() == Code::permission_denied ||
          img.status().code() == Code::invalid_argument)
        return bad_answer("replicate",
                          "an output URL outside the configured hosts: " + img.status().message());
      return img.status();
    }
    if (img->status != 200)
      return bad_answer("replicate", "HTTP " + std::to_string(img->status) + " for the output");
    cv::Mat check = cv::imdecode(std::vector<unsigned char>(img->body.begin(), img->body.end()),
                                 cv::IMREAD_UNCHANGED);
    if (check.empty()) return bad_answer("replicate", "an output that is not an image");
    DesignResult r;
    r.image = std::move(img->body);
    r.content_type = img->content_type.rfind("image/", 0) == 0 ? img->content_type : "image/png";
    r.engine_detail = "replicate prediction " + id_;
    return r;
  }

 private:
  static Status refused(const net::OutboundResponse& created) {
    const int code = created.status;
    if (code >= 500)
      return bad_answer("replicate", "HTTP " + std::to_string(code) + ": " + detail_of(created));
    if (code == 401 || code == 403)
      return Status::unavailable("replicate refused the token (HTTP " + std::to_string(code) + ")");
    if (code == 429)
      return Status::unavailable("replicate is rate limiting us: " + detail_of(created));
    if (code != 201 && code != 200)
      return Status::invalid_argument("replicate refused the prediction (HTTP " +
                                      std::to_string(code) + "): " + detail_of(created));
    return Status::ok();
  }

  // Sleeps in small slices so that cancellation and the deadline act promptly.
  Status sleep_until_next_poll() {
    const auto wake = SteadyClock::now() + opt_.poll_interval;
    while (SteadyClock::now() < wake) {
      if (Status s = work_.check(); !s.is_ok()) {
        if (s.code() == Code::deadline_exceeded) return timed_out();
        cancel_remote();
        return s;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return Status::ok();
  }

  Status timed_out() {
    cancel_remote();
    return Status::deadline_exceeded("replicate prediction " + id_ +
                                     " did not finish within the AI timeout");
  }

  void cancel_remote() {
    net::OutboundRequest c;
    c.method = "POST";
    c.url = cancel_url_;
    c.headers = auth_;
    c.timeout = std::chrono::milliseconds(5000);
    (void)net::fetch(c, WorkContext{});  // best effort, our own deadline is gone
  }

  const ReplicateOptions& opt_;
  const WorkContext& work_;
  const std::vector<std::pair<std::string, std::string>> auth_;
  nlohmann::json pred_;
  std::string id_, get_url_, cancel_url_;
};

}  // namespace

ReplicateEngine::ReplicateEngine(ReplicateOptions opt) : opt_(std::move(opt)) {
  while (!opt_.base_url.empty() && opt_.base_url.back() == '/') opt_.base_url.pop_back();
}

Result<DesignResult> ReplicateEngine::generate(const DesignRequest& req, const WorkContext& work) {
  if (opt_.token.empty() || opt_.version.empty())
    return Status::unavailable("replicate needs replicate_api_token and replicate_model_version");
  ReplicatePrediction p(opt_, work);
  ATELIER_RETURN_IF_ERROR(p.create(req));
  ATELIER_RETURN_IF_ERROR(p.await());
  return p.output();
}

Result<DesignResult> HfInferenceEngine::generate(const DesignRequest& req,
                                                 const WorkContext& work) {
  if (opt_.endpoint.empty()) return Status::unavailable("hf_inference needs hf_endpoint_url");
  nlohmann::json params = {{"prompt", req.prompt},
                           {"negative_prompt", req.negative},
                           {"seed", req.seed},
                           {"strength", req.strength}};
  if (const auto c = control_png(req); !c.empty()) params["control_image"] = base64_encode(c);
  net::OutboundRequest call;
  call.method = "POST";
  call.url = opt_.endpoint;
  call.headers = {{"Content-Type", "application/json"}, {"Accept", "image/png"}};
  if (!opt_.token.empty()) call.headers.emplace_back("Authorization", "Bearer " + opt_.token);
  call.body =
      nlohmann::json{{"inputs", base64_encode(req.image_bytes)}, {"parameters", params}}.dump();
  call.max_response_bytes = 32u << 20;
  call.timeout = work.deadline.remaining();
  ATELIER_ASSIGN_OR_RETURN(auto r, net::fetch(call, work));
  if (r.status == 503)
    return Status::unavailable("the Hugging Face endpoint is not ready: " + detail_of(r));
  if (r.status >= 500)
    return bad_answer("hf_inference", "HTTP " + std::to_string(r.status) + ": " + detail_of(r));
  if (r.status == 401 || r.status == 403)
    return Status::unavailable("the Hugging Face endpoint refused the token (HTTP " +
                               std::to_string(r.status) + ")");
  if (r.status != 200)
    return Status::invalid_argument("the Hugging Face endpoint refused the request (HTTP " +
                                    std::to_string(r.status) + "): " + detail_of(r));
  cv::Mat check =
      cv::imdecode(std::vector<unsigned char>(r.body.begin(), r.body.end()), cv::IMREAD_UNCHANGED);
  if (check.empty())
    return bad_answer("hf_inference", "a body that is not an image (" + r.content_type + ")");
  DesignResult out;
  out.image = std::move(r.body);
  out.content_type = r.content_type.rfind("image/", 0) == 0 ? r.content_type : "image/png";
  out.engine_detail = "hf_inference";
  return out;
}

}  // namespace atelier::engines
