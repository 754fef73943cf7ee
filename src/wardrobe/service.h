// The wardrobe: a person's items, auto-tagged and embedded on upload,
// corrected by their owner, listed, searched by similarity. Every call names
// the owner; another owner's item reads as not_found.
//
// Thread safety: all methods may be called concurrently.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/cancel.h"
#include "core/status.h"
#include "engines/embedder.h"
#include "image/image.h"
#include "store/blobs.h"
#include "wardrobe/fields.h"
#include "wardrobe/item_repository.h"
#include "wardrobe/tagger.h"

namespace atelier::wardrobe {

struct NewItem {
  std::string owner;
  std::string name, brand, notes;
  std::string bytes;  // the photo as sent
  std::string content_type;
  UserTags user_tags;  // what the owner already knows
};

// A PATCH: set fields take the new value; `reset` names user tags to drop,
// so the auto tag shows again.
struct SimilarItem {
  Item item;
  double score = 0;  // cosine similarity of the embeddings compared
};

// What `similar` compares: the photos' looks or the tags' words.
enum class Likeness { image, tags };

// The words an item's tag embedding is made of: its effective tags, colour
// names and the owner's name, brand and notes ("navy blazer. outerwear.
// business. solid. navy, midnightblue. autumn, winter. Work blazer").
std::string tag_text(const Item& item);

class WardrobeService {
 public:
  // `text` embeds tag_text() for tag similarity and search; null: items get no
  // tag embedding, and those routes answer unavailable.
  WardrobeService(ItemRepository& repo, BlobStore& blobs, const Tagger& tagger,
                  const engines::TextEmbedder* text = nullptr)
      : repo_(repo), blobs_(blobs), tagger_(tagger), text_(text) {}

  // invalid_argument for a user tag outside its set (see validate()).
  Result<Item> add(const NewItem& item, const image::Image& decoded, const WorkContext& work);
  Result<Item> get(const std::string& owner, const std::string& id, const WorkContext& work);
  Result<ItemPage> list(const std::string& owner, const ItemFilter& filter, int limit,
                        const std::optional<PagePosition>& cursor, const WorkContext& work);
  Result<Item> update(const std::string& owner, const std::string& id, const ItemPatch& patch,
                      const WorkContext& work);
  Status remove(const std::string& owner, const std::string& id, const WorkContext& work);
  // The photo as uploaded and its content type.
  Result<std::pair<std::string, std::string>> image(const std::string& owner, const std::string& id,
                                                    const WorkContext& work);
  // The owner's k items whose photos look most like this one's, or whose
  // tags read most like its tags.
  Result<std::vector<SimilarItem>> similar(const std::string& owner, const std::string& id, int k,
                                           Likeness by, const WorkContext& work);
  // The owner's k items whose tags read most like `query` ("navy blazer",
  // "something warm for the evening"): cosine of the text embeddings.
  Result<std::vector<SimilarItem>> search(const std::string& owner, const std::string& query, int k,
                                          const WorkContext& work);
  // The text model tags are embedded with ("" when none).
  std::string text_model() const { return text_ ? text_->model() : std::string(); }

  // Account export and deletion.
  Result<std::vector<Item>> all(const std::string& owner, const WorkContext& work = {}) {
    return repo_.in(work).all(owner);
  }
  Status delete_owner(const std::string& owner);

  bool tagger_loaded() const { return tagger_.loaded(); }

 private:
  void collect_blob(const std::string& blob);
  // Embeds the item's tag text (nothing without a text model).
  Status embed_tags(Item& item, const WorkContext& work) const;

  ItemRepository& repo_;
  BlobStore& blobs_;
  const Tagger& tagger_;
  const engines::TextEmbedder* text_;
};

}  // namespace atelier::wardrobe
