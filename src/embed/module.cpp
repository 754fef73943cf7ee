#include "embed/module.h"

#include "embed/glove_sif.h"
#include "embed/native_models.h"
#include "embed/routes.h"
#include "models/paths.h"
#include "obs/log.h"

namespace atelier::embed {
namespace {

// Text embedders: the local GloVe-SIF model when its file is present (a
// missing file leaves the server up; /v1/embeddings answers 503 saying why),
// and native transformer encoders from Hugging Face folders in the models
// path (their image towers join the image models).
class EmbedModule final : public Module {
 public:
  explicit EmbedModule(const text::Exports* text) : text_(text) {}
  const char* name() const override { return "embeddings"; }
  Status start(Platform& p) override {
    auto path = find_model(p.config, "glove-sif/wink-sg-100d.bin");
    auto wv = path.is_ok() ? WordVectors::open(*path)
                           : Result<std::unique_ptr<WordVectors>>(path.status());
    if (wv.is_ok()) {
      p.embedders.add(std::make_unique<GloveSifEmbedder>("glove-sif-100d", std::move(wv).value(),
                                                         *text_->analyzer));
      log::info("model loaded", {{"model", "glove-sif-100d"}, {"path", *path}});
    } else {
      glove_error_ = wv.status().message();
      log::warn("model not loaded", {{"model", "glove-sif-100d"}, {"error", glove_error_}});
    }
    const std::string models = p.config.models_dir;
    p.health.add("model:glove-sif-100d", false, [this, models] {
      return ComponentHealth{glove_error_.empty(), glove_error_, {{"models_path", models}}};
    });
    native_ = load_native_models(p.config, p.embedders, p.metrics, p.health);
    if (p.make_cache) {
      cache_ = p.make_cache("embeddings", std::size_t(64) << 20);
      p.image_models.cache = cache_.get();
    }
    for (auto& [name, enc] : native_->image) p.image_models.encoders[name] = enc.get();
    api::add_embedding_routes(p.router, p.deps, p.embedders, glove_error_);
    return Status::ok();
  }
  // Image models come from this capability and vision: routes once both are in.
  Status ready(Platform& p) override {
    api::add_image_embedding_routes(p.router, p.deps, p.image_models);
    return Status::ok();
  }

 private:
  const text::Exports* const text_;
  std::string glove_error_;
  std::unique_ptr<NativeModels> native_;
  std::unique_ptr<cache::Cache> cache_;  // image encodings
};

}  // namespace

ModulePtr make_module(const text::Exports* text) {
  return std::make_unique<EmbedModule>(text);
}

}  // namespace atelier::embed
