// POST /v1/embeddings in OpenAI's request and response shapes, so the official
// clients work unchanged against atelier.
#include "embed/routes.h"
#include "core/base64.h"
#include "http/image_input.h"
#include "http/problem.h"
#include "text/analyzer.h"

namespace atelier::api {

using http::Access;
using http::Exec;
using http::Method;
using http::RequestContext;
using http::Response;
using http::RouteSpec;

namespace {

constexpr std::size_t kMaxInputs = 2048;  // OpenAI's limit per request

std::string base64_floats(const std::vector<float>& v) {
  // OpenAI's base64 encoding: the little-endian float32 bytes (x86 is little-endian).
  return base64_encode(
      std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float)));
}

nlohmann::json request_schema() {
  nlohmann::json input_array = {
      {"type", "array"}, {"items", {{"type", "string"}}}, {"maxItems", kMaxInputs}};
  nlohmann::json props;
  props["input"] = {{"oneOf", nlohmann::json::array({{{"type", "string"}}, input_array})}};
  props["model"] = {{"type", "string"},
                    {"description",
                     "default: the configured embedding_model; also any native BERT or CLIP "
                     "folder loaded from the models path, by its folder name"}};
  props["encoding_format"] = {{"type", "string"}, {"enum", {"float", "base64"}}};
  props["dimensions"] = {{"type", "integer"}};
  props["user"] = {{"type", "string"}};
  return {{"type", "object"}, {"required", {"input"}}, {"properties", props}};
}

nlohmann::json response_schema() {
  nlohmann::json props;
  props["object"] = {{"type", "string"}};
  props["data"] = {{"type", "array"}, {"items", {{"type", "object"}}}};
  props["model"] = {{"type", "string"}};
  props["usage"] = {{"type", "object"}};
  return {{"type", "object"}, {"properties", props}};
}

}  // namespace

namespace {

// The texts of 'input': a string, or a non-empty array of at most kMaxInputs
// strings.
Result<std::vector<std::string>> parse_inputs(const nlohmann::json& body) {
  std::vector<std::string> inputs;
  auto in = body.find("input");
  if (in == body.end()) return Status::invalid_argument("field 'input' is required");
  if (in->is_string()) {
    inputs.push_back(in->get<std::string>());
  } else if (in->is_array()) {
    if (in->empty()) return Status::invalid_argument("'input' must not be an empty array");
    if (in->size() > kMaxInputs) {
      return Status::invalid_argument("'input' may hold at most " + std::to_string(kMaxInputs) +
                                      " items");
    }
    for (const auto& item : *in) {
      if (!item.is_string()) {
        return Status::invalid_argument(
            "'input' must be a string or an array of strings (token arrays are not "
            "supported)");
      }
      inputs.push_back(item.get<std::string>());
    }
  } else {
    return Status::invalid_argument("'input' must be a string or an array of strings");
  }
  return inputs;
}

// Each input valid UTF-8, not empty, and at most `max_input_length` characters.
Status check_inputs(const std::vector<std::string>& inputs, int max_input_length) {
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    int cps = 0;
    if (!text::valid_utf8(inputs[i], &cps))
      return Status::invalid_argument("input " + std::to_string(i) + " is not valid UTF-8");
    if (inputs[i].empty())
      return Status::invalid_argument("input " + std::to_string(i) + " is empty");
    if (cps > max_input_length) {
      return Status::payload_too_large("input " + std::to_string(i) + " has " +
                                       std::to_string(cps) + " characters; the limit is " +
                                       std::to_string(max_input_length));
    }
  }
  return Status::ok();
}

// 'model', or `default_model` when absent or null.
Result<std::string> requested_model(const nlohmann::json& body, const std::string& default_model) {
  std::string model = default_model;
  if (auto m = body.find("model"); m != body.end() && !m->is_null()) {
    if (!m->is_string()) return Status::invalid_argument("'model' must be a string");
    model = m->get<std::string>();
  }
  return model;
}

// 'encoding_format': "float" (the default) or "base64".
Result<std::string> encoding_format(const nlohmann::json& body) {
  std::string format = "float";
  if (auto f = body.find("encoding_format"); f != body.end() && !f->is_null()) {
    if (!f->is_string() || (*f != "float" && *f != "base64")) {
      return Status::invalid_argument("'encoding_format' must be \"float\" or \"base64\"");
    }
    format = f->get<std::string>();
  }
  return format;
}

// 'dimensions', when given, must be the model's own: no shortening.
Status check_dimensions(const nlohmann::json& body, const std::string& model,
                        const engines::TextEmbedder& e) {
  if (auto dims = body.find("dimensions"); dims != body.end() && !dims->is_null()) {
    if (!dims->is_number_integer() || dims->get<long long>() != e.dimensions()) {
      return Status::invalid_argument("model " + model + " has " + std::to_string(e.dimensions()) +
                                      " dimensions and cannot shorten them");
    }
  }
  return Status::ok();
}

// OpenAI's list of embeddings, as floats or base64.
nlohmann::ordered_json embeddings_json(const engines::Embeddings& out, const std::string& model,
                                       const std::string& format) {
  nlohmann::ordered_json j;
  j["object"] = "list";
  auto& data = j["data"] = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < out.vectors.size(); ++i) {
    nlohmann::ordered_json item;
    item["object"] = "embedding";
    item["index"] = i;
    if (format == "base64") {
      item["embedding"] = base64_floats(out.vectors[i]);
    } else {
      item["embedding"] = out.vectors[i];
    }
    data.push_back(std::move(item));
  }
  j["model"] = model;
  j["usage"] = {{"prompt_tokens", out.tokens}, {"total_tokens", out.tokens}};
  return j;
}

// The handlers of add_embedding_routes(), named after their routes' operation ids,
// over what they need.
struct EmbeddingHandlers {
  ApiDeps& d;
  const engines::EmbedderRegistry& embedders;
  const std::string& unavailable_reason;

  Result<Response> handle_create_embeddings(const RequestContext& ctx) const;
  // The text embedder named `model`; unavailable or not_found (with the
  // models there are) when there is none.
  Result<const engines::TextEmbedder*> find_embedder(const std::string& model) const;
};

Result<const engines::TextEmbedder*> EmbeddingHandlers::find_embedder(
    const std::string& model) const {
  const engines::TextEmbedder* e = embedders.text(model);
  if (!e) {
    if (model == "glove-sif-100d" && !unavailable_reason.empty()) {
      return Status::unavailable("model " + model + " is not loaded: " + unavailable_reason);
    }
    std::string known;
    for (auto& name : embedders.text_models()) known += (known.empty() ? "" : ", ") + name;
    return Status::not_found("no embedding model '" + model + "'" +
                             (known.empty() ? "" : "; available: " + known));
  }
  return e;
}

Result<Response> EmbeddingHandlers::handle_create_embeddings(const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(auto body, http::parse_json_body(ctx.req));
  if (!body.is_object()) return Status::invalid_argument("request body must be a JSON object");
  ATELIER_ASSIGN_OR_RETURN(std::vector<std::string> inputs, parse_inputs(body));
  ATELIER_RETURN_IF_ERROR(check_inputs(inputs, d.config.max_input_length));
  ATELIER_ASSIGN_OR_RETURN(std::string model, requested_model(body, d.config.embedding_model));
  ATELIER_ASSIGN_OR_RETURN(std::string format, encoding_format(body));
  ATELIER_ASSIGN_OR_RETURN(const engines::TextEmbedder* e, find_embedder(model));
  ATELIER_RETURN_IF_ERROR(check_dimensions(body, model, *e));
  ATELIER_ASSIGN_OR_RETURN(engines::Embeddings out, e->embed(inputs, ctx.work));
  return Response::json_exact(200, embeddings_json(out, model, format));
}

}  // namespace

void add_embedding_routes(http::Router& router, ApiDeps& d,
                          const engines::EmbedderRegistry& embedders,
                          const std::string& unavailable_reason) {
  const auto h = std::make_shared<const EmbeddingHandlers>(
      EmbeddingHandlers{d, embedders, unavailable_reason});
  router.add({
      .method = Method::post,
      .path = "/v1/embeddings",
      .operation_id = "create_embeddings",
      .summary = "Text embeddings (OpenAI-compatible request and response)",
      .tag = "embeddings",
      .access = Access::caller,
      .cost = 1,
      .exec = Exec::worker_pool,
      .request_schema = request_schema(),
      .response_schema = response_schema(),
      .request_example = nlohmann::json::parse(
          R"({"model": "glove-sif-100d", "input": ["navy wool blazer", "linen summer dress"]})"),
      .errors = {404, 413},
      .openai_errors = true,
      .handler = http::bind_handler(h, &EmbeddingHandlers::handle_create_embeddings),
  });
}

namespace {

// The handlers of add_image_embedding_routes(), named after their routes' operation ids,
// over what they need.
constexpr std::size_t kMaxImages = 32;  // images per request

struct ImageEmbeddingHandlers {
  ApiDeps& d;
  const engines::ImageModels& images;

  Result<Response> handle_create_image_embeddings(const RequestContext& ctx) const;
};

Result<Response> ImageEmbeddingHandlers::handle_create_image_embeddings(
    const RequestContext& ctx) const {
  ATELIER_ASSIGN_OR_RETURN(ImageRequest in,
                           read_images(ctx.req, kMaxImages, url_policy(d.config), ctx.work));
  std::string model = "mobilenet-v2";
  in.option(ctx.req, "model", &model);
  std::string format = "float";
  in.option(ctx.req, "encoding_format", &format);
  if (format != "float" && format != "base64") {
    return Status::invalid_argument("'encoding_format' must be \"float\" or \"base64\"");
  }
  ATELIER_ASSIGN_OR_RETURN(engines::ImageEncoder * encoder, images.get(model));
  ATELIER_ASSIGN_OR_RETURN(auto imgs,
                           decode_all(in, image_limits(d, d.config.max_resolution, ctx.work)));
  std::vector<engines::ImageModels::Input> inputs;
  for (auto& i : imgs) inputs.push_back({&i.bgr, i.sha256_hex});
  ATELIER_ASSIGN_OR_RETURN(auto feats, images.encode(*encoder, inputs, ctx.work));
  nlohmann::ordered_json j;
  j["object"] = "list";
  auto& data = j["data"] = nlohmann::ordered_json::array();
  for (std::size_t i = 0; i < feats.size(); ++i) {
    nlohmann::ordered_json item;
    item["object"] = "embedding";
    item["index"] = i;
    if (format == "base64") {
      item["embedding"] = base64_floats(feats[i].embedding);
    } else {
      item["embedding"] = feats[i].embedding;
    }
    data.push_back(std::move(item));
  }
  j["model"] = model;
  j["usage"] = {{"prompt_tokens", 0}, {"total_tokens", 0}, {"images", feats.size()}};
  return Response::json_exact(200, j);
}

}  // namespace

void add_image_embedding_routes(http::Router& router, ApiDeps& d,
                                const engines::ImageModels& images) {
  const auto h = std::make_shared<const ImageEmbeddingHandlers>(ImageEmbeddingHandlers{d, images});
  router.add({
      .method = Method::post,
      .path = "/v1/embeddings/images",
      .operation_id = "create_image_embeddings",
      .summary = "Image embeddings (OpenAI-shaped response); multipart, image/* or base64 JSON",
      .tag = "embeddings",
      .access = Access::caller,
      .cost = 2,
      .exec = Exec::inference_pool,
      .request_body = image_request_body(
          {{"model",
            {{"type", "string"}, {"description", "mobilenet-v2 (default) or a loaded CLIP model"}}},
           {"encoding_format", {{"type", "string"}, {"enum", {"float", "base64"}}}}},
          true),
      .response_schema = response_schema(),
      .errors = {404, 413, 415, 503},
      .handler = http::bind_handler(h, &ImageEmbeddingHandlers::handle_create_image_embeddings),
  });
}

}  // namespace atelier::api
