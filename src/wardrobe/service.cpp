#include "wardrobe/service.h"

#include <algorithm>
#include <set>

#include "core/clock.h"
#include "core/ids.h"
#include "core/sha256.h"
#include "core/vec.h"

namespace atelier::wardrobe {

std::string tag_text(const Item& it) {
  std::string s;
  auto add = [&s](const std::string& part) {
    if (part.empty()) return;
    if (!s.empty()) s += ". ";
    s += part;
  };
  const std::string type = it.type();
  add(it.color_family() + (type.empty() ? "" : " " + type));
  add(it.category());
  add(it.pattern().value_or(""));
  add(it.formality().value_or(""));
  std::string colours;
  std::set<std::string> named;
  for (const auto& c : it.auto_tags.colors)
    if (named.insert(c.name).second) colours += (colours.empty() ? "" : ", ") + c.name;
  add(colours);
  std::string season;
  for (const auto& x : it.season()) season += (season.empty() ? "" : ", ") + x;
  add(season);
  add(it.name);
  add(it.brand);
  add(it.notes);
  return s;
}

Status WardrobeService::embed_tags(Item& it, const WorkContext& work) const {
  if (!text_) return Status::ok();
  ATELIER_ASSIGN_OR_RETURN(engines::Embeddings e, text_->embed({tag_text(it)}, work));
  it.tag_embedding = e.vectors.empty() ? std::vector<float>() : std::move(e.vectors[0]);
  it.tag_embedding_model = text_->model();
  return Status::ok();
}

Result<Item> WardrobeService::add(const NewItem& n, const image::Image& decoded,
                                  const WorkContext& work) {
  ATELIER_RETURN_IF_ERROR(validate(n.user_tags));
  ATELIER_ASSIGN_OR_RETURN(Tagged tagged, tagger_.tag(decoded.bgr, work));
  ATELIER_RETURN_IF_ERROR(work.check());
  Item it;
  it.id = random_id("wi_");
  it.owner = n.owner;
  it.name = n.name;
  it.brand = n.brand;
  it.notes = n.notes;
  it.content_type = n.content_type;
  it.width = decoded.width;
  it.height = decoded.height;
  it.auto_tags = std::move(tagged.tags);
  it.user_tags = n.user_tags;
  it.embedding = std::move(tagged.embedding);
  it.embedding_model = tagger_.model();
  it.created_at = it.updated_at = unix_millis();
  ATELIER_RETURN_IF_ERROR(embed_tags(it, work));
  // The row first, then the photo: a deletion of another item with the same
  // photo either sees this row and keeps the blob, or has removed it before
  // put() writes it anew (BlobStore::remove_unless).
  it.blob = sha256_hex(n.bytes);
  ItemRepository repo = repo_.in(work);
  ATELIER_RETURN_IF_ERROR(repo.create(it));
  auto stored = blobs_.put(n.bytes);
  if (!stored.is_ok()) {
    (void)repo_.remove(it.owner, it.id);  // without the request's deadline: it must happen
    return stored.status();
  }
  // The row may have gone before the photo was written (the owner's erasure
  // passed in between): the photo goes too.
  if (auto still = repo_.find(it.owner, it.id); !still.is_ok()) {
    if (still.status().code() != Code::not_found) return still.status();
    collect_blob(it.blob);
    return Status::not_found("the item was deleted while it was stored");
  }
  return it;
}

Result<Item> WardrobeService::get(const std::string& owner, const std::string& id,
                                  const WorkContext& work) {
  return repo_.in(work).find(owner, id);
}

Result<ItemPage> WardrobeService::list(const std::string& owner, const ItemFilter& filter,
                                       int limit, const std::optional<PagePosition>& cursor,
                                       const WorkContext& work) {
  if (filter.category)
    ATELIER_RETURN_IF_ERROR(check_one_of(filter.category, "category", categories()));
  if (filter.season) ATELIER_RETURN_IF_ERROR(check_one_of(filter.season, "season", seasons()));
  if (filter.color_family)
    ATELIER_RETURN_IF_ERROR(check_one_of(filter.color_family, "color_family", color_families()));
  return repo_.in(work).list(owner, filter, limit, cursor);
}

Result<Item> WardrobeService::update(const std::string& owner, const std::string& id,
                                     const ItemPatch& p, const WorkContext& work) {
  ATELIER_RETURN_IF_ERROR(validate(p.set));
  ItemRepository repo = repo_.in(work);
  ATELIER_ASSIGN_OR_RETURN(Item it, repo.find(owner, id));
  if (p.name) it.name = *p.name;
  if (p.brand) it.brand = *p.brand;
  if (p.notes) it.notes = *p.notes;
  UserTags& u = it.user_tags;
  for (const auto& field : p.reset) {
    if (field == "category")
      u.category.reset();
    else if (field == "type")
      u.type.reset();
    else if (field == "color_family")
      u.color_family.reset();
    else if (field == "pattern")
      u.pattern.reset();
    else if (field == "formality")
      u.formality.reset();
    else if (field == "warmth")
      u.warmth.reset();
    else if (field == "season")
      u.season.reset();
    else
      return Status::invalid_argument("'" + field + "' is not a tag");
  }
  if (p.set.category) u.category = p.set.category;
  if (p.set.type) u.type = p.set.type;
  if (p.set.color_family) u.color_family = p.set.color_family;
  if (p.set.pattern) u.pattern = p.set.pattern;
  if (p.set.formality) u.formality = p.set.formality;
  if (p.set.warmth) u.warmth = p.set.warmth;
  if (p.set.season) u.season = p.set.season;
  it.updated_at = unix_millis();
  ATELIER_RETURN_IF_ERROR(embed_tags(it, work));  // the words may have changed
  ATELIER_RETURN_IF_ERROR(repo.update(it));
  return it;
}

Status WardrobeService::remove(const std::string& owner, const std::string& id,
                               const WorkContext& work) {
  ItemRepository repo = repo_.in(work);
  ATELIER_ASSIGN_OR_RETURN(Item it, repo.find(owner, id));
  ATELIER_RETURN_IF_ERROR(repo.remove(owner, id));
  collect_blob(it.blob);
  return Status::ok();
}

Result<std::pair<std::string, std::string>> WardrobeService::image(const std::string& owner,
                                                                   const std::string& id,
                                                                   const WorkContext& work) {
  ATELIER_ASSIGN_OR_RETURN(Item it, repo_.in(work).find(owner, id));
  ATELIER_ASSIGN_OR_RETURN(std::string bytes, blobs_.get(it.blob));
  return std::make_pair(std::move(bytes), it.content_type);
}

namespace {

// The k best by cosine with `probe` over the chosen vector of each item.
std::vector<SimilarItem> nearest(std::vector<Item> all, const std::vector<float>& probe,
                                 Likeness by, const std::string& skip_id, int k) {
  std::vector<SimilarItem> out;
  for (auto& other : all) {
    const auto& v = by == Likeness::image ? other.embedding : other.tag_embedding;
    if (other.id == skip_id || v.size() != probe.size() || v.empty()) continue;
    const double score = dot(probe.data(), v.data(), v.size());
    out.push_back({std::move(other), score});
  }
  const std::size_t keep = std::min<std::size_t>(out.size(), static_cast<std::size_t>(k));
  std::partial_sort(out.begin(), out.begin() + long(keep), out.end(),
                    [](const SimilarItem& a, const SimilarItem& b) {
                      return a.score != b.score ? a.score > b.score : a.item.id < b.item.id;
                    });
  out.resize(keep);
  return out;
}

}  // namespace

Result<std::vector<SimilarItem>> WardrobeService::similar(const std::string& owner,
                                                          const std::string& id, int k, Likeness by,
                                                          const WorkContext& work) {
  if (k < 1 || k > 100) return Status::invalid_argument("'k' must lie in [1, 100]");
  ItemRepository repo = repo_.in(work);
  ATELIER_ASSIGN_OR_RETURN(Item anchor, repo.find(owner, id));
  const auto& probe = by == Likeness::image ? anchor.embedding : anchor.tag_embedding;
  if (probe.empty())
    return Status::unavailable(by == Likeness::image
                                   ? "the item has no image embedding"
                                   : "the item has no tag embedding: no text model was loaded "
                                     "when it was added or last edited");
  ATELIER_ASSIGN_OR_RETURN(std::vector<Item> all, repo.all(owner));
  return nearest(std::move(all), probe, by, anchor.id, k);
}

Result<std::vector<SimilarItem>> WardrobeService::search(const std::string& owner,
                                                         const std::string& query, int k,
                                                         const WorkContext& work) {
  if (k < 1 || k > 100) return Status::invalid_argument("'k' must lie in [1, 100]");
  if (query.empty() || query.size() > 500 || !is_utf8(query))
    return Status::invalid_argument("'q' must be 1 to 500 bytes of text");
  if (!text_) return Status::unavailable("no text embedding model is loaded");
  ATELIER_ASSIGN_OR_RETURN(engines::Embeddings e, text_->embed({query}, work));
  // No word the model knows: nothing can be near it.
  if (e.vectors.empty() ||
      std::all_of(e.vectors[0].begin(), e.vectors[0].end(), [](float x) { return x == 0.f; }))
    return std::vector<SimilarItem>{};
  ATELIER_ASSIGN_OR_RETURN(std::vector<Item> all, repo_.in(work).all(owner));
  // Only vectors of the current model compare.
  std::erase_if(all, [&](const Item& it) { return it.tag_embedding_model != text_->model(); });
  return nearest(std::move(all), e.vectors[0], Likeness::tags, "", k);
}

Status WardrobeService::delete_owner(const std::string& owner) {
  ATELIER_ASSIGN_OR_RETURN(auto blobs, repo_.remove_owner(owner));
  for (const auto& b : blobs) collect_blob(b);
  return Status::ok();
}

void WardrobeService::collect_blob(const std::string& blob) {
  // Content-addressed: another item (of anyone) may hold the same photo.
  (void)blobs_.remove_unless(blob, [&] { return repo_.blob_in_use(blob); });
}

}  // namespace atelier::wardrobe
