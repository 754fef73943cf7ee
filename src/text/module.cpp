#include "text/module.h"

#include "obs/log.h"
#include "text/analyzer.h"
#include "text/routes.h"

namespace atelier::text {
namespace {

class TextModule final : public Module {
 public:
  explicit TextModule(Exports* exports) : exports_(exports) {}
  const char* name() const override { return "text"; }
  Status start(Platform& p) override {
    auto analyzer = Analyzer::create(p.config.stopwords_file);
    if (!analyzer.is_ok()) {
      log::error("text analyzer unavailable", {{"error", analyzer.status().message()}});
      return analyzer.status();
    }
    analyzer_ = std::make_unique<Analyzer>(std::move(analyzer).value());
    exports_->analyzer = analyzer_.get();
    const Analyzer* a = analyzer_.get();
    const std::string path = p.config.stopwords_file;
    p.health.add("stopwords", false, [a, path] {
      const bool ok = a->has_stopwords();
      return ComponentHealth{
          ok, ok ? "" : "no stopword lists (set ATELIER_STOPWORDS_FILE)", {{"path", path}}};
    });
    api::add_text_routes(p.router, p.deps, *analyzer_);
    return Status::ok();
  }

 private:
  Exports* const exports_;
  std::unique_ptr<Analyzer> analyzer_;
};

}  // namespace

ModulePtr make_module(Exports* exports) {
  return std::make_unique<TextModule>(exports);
}

}  // namespace atelier::text
