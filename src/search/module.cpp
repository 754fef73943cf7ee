#include "search/module.h"

#include <filesystem>

#include "search/routes.h"
#include "search/service.h"

namespace atelier::search {
namespace {

// Collections of documents (text, or images through an image model), BM25,
// vector and hybrid search; index files under <data dir>/indexes.
class SearchModule final : public Module {
 public:
  SearchModule(const text::Exports* text, Exports* exports) : text_(text), exports_(exports) {}
  const char* name() const override { return "search"; }
  Status start(Platform& p) override {
    const Config& c = p.config;
    FusionSettings f{c.search_rrf_k,
                     c.search_bm25_weight,
                     c.search_vector_weight,
                     100,
                     static_cast<std::size_t>(c.search_flat_max),
                     static_cast<std::size_t>(c.search_ivf_min),
                     static_cast<std::size_t>(c.search_ivf_nprobe),
                     (std::filesystem::path(c.data_dir) / "indexes").string()};
    // On PostgreSQL other replicas may write: each search first compares the
    // collection's version (one primary-key read). SQLite has one process.
    f.freshness_ms = p.db.dialect() == db::Dialect::postgres ? 0 : -1;
    repo_ = std::make_unique<CollectionRepository>(p.db);
    service_ =
        std::make_unique<SearchService>(*repo_, p.embedders, p.image_models, *text_->analyzer, f);
    exports_->service = service_.get();
    api::add_search_routes(p.router, p.deps, *service_);
    api::add_image_collection_routes(p.router, p.deps, *service_);
    p.user_data.add(api::search_user_data(*service_, *repo_));
    SearchService* svc = service_.get();
    p.metrics.add_sampled_gauge("atelier_index_vectors",
                                "Vectors held by the loaded search indexes.", {},
                                [svc] { return static_cast<double>(svc->loaded_vectors()); });
    for (const char* how : {"changes", "rebuild"}) {
      p.metrics.add_sampled_counter(
          "atelier_search_follow_total",
          "Loaded collections brought up to other replicas' writes: by reading the changed rows "
          "(changes) or by rebuilding from every row (rebuild).",
          {{"how", how}}, [svc, changes = how[0] == 'c'] {
            const auto n = svc->follow_counts();
            return static_cast<double>(changes ? n.caught_up : n.rebuilt);
          });
    }
    return Status::ok();
  }
  void stop() override { service_->persist(); }  // index files for the next start

 private:
  std::unique_ptr<CollectionRepository> repo_;
  const text::Exports* const text_;
  Exports* const exports_;
  std::unique_ptr<SearchService> service_;
};

}  // namespace

ModulePtr make_module(const text::Exports* text, Exports* exports) {
  return std::make_unique<SearchModule>(text, exports);
}

}  // namespace atelier::search
