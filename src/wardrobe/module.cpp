#include "wardrobe/module.h"

#include <filesystem>

#include "store/blobs.h"
#include "wardrobe/advice.h"
#include "wardrobe/routes.h"
#include "wardrobe/service.h"

namespace atelier::wardrobe {
namespace {

// Wardrobe items on the vision capability's MobileNetV2 (tags and
// embeddings) and the embeddings capability's default text model (tag
// embeddings); photos in their own blob folder (<data dir>/wardrobe-blobs), so
// deleting a room never takes an item's photo or the other way round.
class WardrobeModule final : public Module {
 public:
  explicit WardrobeModule(Exports* exports) : exports_(exports) {}
  const char* name() const override { return "wardrobe"; }
  Status start(Platform& p) override {
    blobs_ = open_file_blob_store(
        (std::filesystem::path(p.config.data_dir) / "wardrobe-blobs").string());
    auto encoder = p.image_models.get("mobilenet-v2");
    tagger_ =
        std::make_unique<Tagger>(encoder.is_ok() ? *encoder : nullptr, TaggerWeights::defaults());
    repo_ = std::make_unique<ItemRepository>(p.db);
    // Tags are embedded with the server's default text model (config
    // embedding_model) when it loaded.
    service_ = std::make_unique<WardrobeService>(*repo_, *blobs_, *tagger_,
                                                 p.embedders.text(p.config.embedding_model));
    feedback_ = std::make_unique<FeedbackRepository>(p.db);
    OutfitSettings os;
    os.worn_days = p.config.wardrobe_worn_days;
    outfits_ = std::make_unique<OutfitService>(*repo_, *feedback_, *tagger_, os);
    api::add_wardrobe_routes(p.router, p.deps, *service_);
    api::add_outfit_routes(p.router, p.deps, *outfits_);
    api::add_feedback_routes(p.router, *outfits_);
    api::add_wardrobe_index_stats(p.deps, *service_, *outfits_);
    OutfitService* outfits = outfits_.get();
    exports_->advisor = [items = service_.get(), outfits](const std::string& owner,
                                                          const std::string& question,
                                                          const WorkContext& work) {
      return advise(*items, *outfits, owner, question, work);
    };
    if (tagger_->loaded()) {
      exports_->outfit_judge =
          [outfits](const cv::Mat& bgr, const std::vector<engines::OutfitPiece>& pieces,
                    const WorkContext& work) { return outfits->judge(bgr, pieces, work); };
    }
    for (const auto& e : feedback_events()) {
      p.metrics.add_sampled_counter("atelier_wardrobe_feedback_total",
                                    "Wardrobe feedback events recorded.", {{"event", e}},
                                    [outfits, e] { return double(outfits->feedback_count(e)); });
    }

    p.user_data.add(api::wardrobe_user_data(*service_, *outfits_));
    return Status::ok();
  }

 private:
  Exports* const exports_;
  std::unique_ptr<BlobStore> blobs_;
  std::unique_ptr<Tagger> tagger_;
  std::unique_ptr<ItemRepository> repo_;
  std::unique_ptr<WardrobeService> service_;
  std::unique_ptr<FeedbackRepository> feedback_;
  std::unique_ptr<OutfitService> outfits_;
};

}  // namespace

ModulePtr make_module(Exports* exports) {
  return std::make_unique<WardrobeModule>(exports);
}

}  // namespace atelier::wardrobe
