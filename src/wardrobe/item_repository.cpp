#include "wardrobe/item_repository.h"

#include "store/owners.h"

#include <nlohmann/json.hpp>

#include <cstring>

#include "core/json.h"

namespace atelier::wardrobe {

// The stored encoding of tags (not the wire format: routes shape that).
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(Scored, value, confidence)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(ItemColour, hex, name, family, share)

namespace {

using nlohmann::json;

using atelier::json::get_optional;
using atelier::json::put_optional;

std::string encode(const AutoTags& t) {
  json j = {{"category", t.category},
            {"category_scores", t.category_scores},
            {"colors", t.colors},
            {"color_family", t.color_family},
            {"season", t.season},
            {"season_confidence", t.season_confidence},
            {"plain_background", t.plain_background}};
  put_optional(j, "type", t.type);
  put_optional(j, "pattern", t.pattern);
  put_optional(j, "formality", t.formality);
  put_optional(j, "warmth", t.warmth);
  return j.dump();
}

AutoTags decode_auto(const std::string& s) {
  AutoTags t;
  const json j = json::parse(s, nullptr, false);
  if (!j.is_object()) return t;
  j.at("category").get_to(t.category);
  j.at("category_scores").get_to(t.category_scores);
  j.at("colors").get_to(t.colors);
  j.at("color_family").get_to(t.color_family);
  j.at("season").get_to(t.season);
  j.at("season_confidence").get_to(t.season_confidence);
  j.at("plain_background").get_to(t.plain_background);
  get_optional(j, "type", t.type);
  get_optional(j, "pattern", t.pattern);
  get_optional(j, "formality", t.formality);
  get_optional(j, "warmth", t.warmth);
  return t;
}

std::string encode(const UserTags& t) {
  json j = json::object();
  put_optional(j, "category", t.category);
  put_optional(j, "type", t.type);
  put_optional(j, "color_family", t.color_family);
  put_optional(j, "pattern", t.pattern);
  put_optional(j, "formality", t.formality);
  put_optional(j, "warmth", t.warmth);
  put_optional(j, "season", t.season);
  return j.dump();
}

UserTags decode_user(const std::string& s) {
  UserTags t;
  const json j = json::parse(s, nullptr, false);
  if (!j.is_object()) return t;
  get_optional(j, "category", t.category);
  get_optional(j, "type", t.type);
  get_optional(j, "color_family", t.color_family);
  get_optional(j, "pattern", t.pattern);
  get_optional(j, "formality", t.formality);
  get_optional(j, "warmth", t.warmth);
  get_optional(j, "season", t.season);
  return t;
}

// ",spring,summer," so one season filters with LIKE '%,summer,%'.
std::string season_column(const std::vector<std::string>& s) {
  std::string out = ",";
  for (const auto& x : s) out += x + ",";
  return out;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A LIKE pattern matching `text` anywhere, its wildcards escaped.
std::string contains_pattern(const std::string& text) {
  std::string p = "%";
  for (char c : lower(text)) {
    if (c == '%' || c == '_' || c == '\\') p += '\\';
    p += c;
  }
  return p + "%";
}

db::Value embedding_value(const std::vector<float>& v) {
  if (v.empty()) return db::Value::null_of(db::Value::Type::null_blob);
  return db::Blob{
      std::string_view(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float))};
}

#define ATELIER_ITEM_COLUMNS                                                                 \
  "id, owner, name, brand, notes, blob, content_type, width, height, auto_tags, user_tags, " \
  "embedding, embedding_model, created_at, updated_at, tag_embedding, tag_embedding_model"

std::vector<float> floats(const db::Row& r, int column) {
  std::vector<float> v;
  if (r.null(column)) return v;
  const std::string bytes = r.blob(column);
  v.resize(bytes.size() / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), v.size() * sizeof(float));
  return v;
}

Item read_item(const db::Row& r) {
  Item it;
  it.id = r.text(0);
  it.owner = r.text(1);
  it.name = r.text(2);
  it.brand = r.text(3);
  it.notes = r.text(4);
  it.blob = r.text(5);
  it.content_type = r.text(6);
  it.width = static_cast<int>(r.integer(7));
  it.height = static_cast<int>(r.integer(8));
  it.auto_tags = decode_auto(r.text(9));
  it.user_tags = decode_user(r.text(10));
  it.embedding = floats(r, 11);
  it.embedding_model = r.text(12);
  it.created_at = r.integer(13);
  it.updated_at = r.integer(14);
  it.tag_embedding = floats(r, 15);
  it.tag_embedding_model = r.text(16);
  return it;
}

}  // namespace

static Status insert_item(db::Connection& c, const Item& it);

// Refused once the owner's erasure began (store/owners.h).
Status ItemRepository::create(const Item& it) {
  return db_.transaction(work_, [&](db::Connection& c) -> Status {
    ATELIER_RETURN_IF_ERROR(db::require_owner_live(c, it.owner));
    return insert_item(c, it);
  });
}

static Status insert_item(db::Connection& c, const Item& it) {
  return c
      .execute("INSERT INTO wardrobe_items(" ATELIER_ITEM_COLUMNS
               ", category, type, color_family, season) VALUES "
               "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
               {it.id,
                it.owner,
                it.name,
                it.brand,
                it.notes,
                it.blob,
                it.content_type,
                it.width,
                it.height,
                encode(it.auto_tags),
                encode(it.user_tags),
                embedding_value(it.embedding),
                it.embedding_model,
                it.created_at,
                it.updated_at,
                embedding_value(it.tag_embedding),
                it.tag_embedding_model,
                it.category(),
                it.type(),
                it.color_family(),
                season_column(it.season())})
      .status();
}

Result<Item> ItemRepository::find(const std::string& owner, const std::string& id) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto found,
      db::first<Item>(*c,
                      "SELECT " ATELIER_ITEM_COLUMNS " FROM wardrobe_items WHERE owner=? AND id=?",
                      {owner, id}, read_item));
  if (!found) return Status::not_found("no wardrobe item '" + id + "'");
  return std::move(*found);
}

Result<ItemPage> ItemRepository::list(const std::string& owner, const ItemFilter& f, int limit,
                                      const std::optional<PagePosition>& before) {
  std::optional<std::int64_t> before_ts;
  std::string before_id;
  if (before) {
    before_ts = before->ts;
    before_id = before->id;
  }
  const std::optional<std::string> season =
      f.season ? std::optional("%," + *f.season + ",%") : std::nullopt;
  const std::optional<std::string> text =
      f.text ? std::optional(contains_pattern(*f.text)) : std::nullopt;
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  // Ids compare bytewise on both backends (PostgreSQL: a COLLATE "C" column).
  ATELIER_ASSIGN_OR_RETURN(
      auto found,
      db::all<Item>(
          *c,
          "SELECT " ATELIER_ITEM_COLUMNS
          " FROM wardrobe_items WHERE owner=?1 AND (?2 IS NULL OR category=?2) AND "
          "(?3 IS NULL OR type=?3) AND (?4 IS NULL OR color_family=?4) AND "
          "(?5 IS NULL OR season LIKE ?5) AND "
          "(?6 IS NULL OR LOWER(name || ' ' || brand || ' ' || notes || ' ' || type) LIKE ?6 "
          "ESCAPE '\\') AND "
          "(?7 IS NULL OR created_at < ?7 OR (created_at = ?7 AND id < ?8)) "
          "ORDER BY created_at DESC, id DESC LIMIT ?9",
          {owner, f.category, f.type, f.color_family, season, text, before_ts, before_id,
           limit + 1},
          read_item));
  ItemPage page;
  if (static_cast<int>(found.size()) > limit) {
    found.resize(static_cast<std::size_t>(limit));
    page.next = PagePosition{found.back().created_at, found.back().id};
  }
  page.items = std::move(found);
  return page;
}

Result<std::vector<Item>> ItemRepository::all(const std::string& owner) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  return db::all<Item>(*c,
                       "SELECT " ATELIER_ITEM_COLUMNS
                       " FROM wardrobe_items WHERE owner=? ORDER BY created_at DESC, id DESC",
                       {owner}, read_item);
}

Status ItemRepository::update(const Item& it) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto n,
      c->execute("UPDATE wardrobe_items SET name=?, brand=?, notes=?, user_tags=?, "
                 "category=?, type=?, color_family=?, season=?, updated_at=?, tag_embedding=?, "
                 "tag_embedding_model=? WHERE owner=? AND id=?",
                 {it.name, it.brand, it.notes, encode(it.user_tags), it.category(), it.type(),
                  it.color_family(), season_column(it.season()), it.updated_at,
                  embedding_value(it.tag_embedding), it.tag_embedding_model, it.owner, it.id}));
  if (n == 0) return Status::not_found("no wardrobe item '" + it.id + "'");
  return Status::ok();
}

Status ItemRepository::remove(const std::string& owner, const std::string& id) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto n, c->execute("DELETE FROM wardrobe_items WHERE owner=? AND id=?", {owner, id}));
  if (n == 0) return Status::not_found("no wardrobe item '" + id + "'");
  return Status::ok();
}

Result<std::vector<std::string>> ItemRepository::remove_owner(const std::string& owner) {
  std::vector<std::string> blobs;
  ATELIER_RETURN_IF_ERROR(db_.transaction(work_, [&](db::Connection& c) -> Status {
    ATELIER_ASSIGN_OR_RETURN(
        blobs, db::all<std::string>(c, "SELECT DISTINCT blob FROM wardrobe_items WHERE owner=?",
                                    {owner}, [](const db::Row& r) { return r.text(0); }));
    return c.execute("DELETE FROM wardrobe_items WHERE owner=?", {owner}).status();
  }));
  return blobs;
}

Result<bool> ItemRepository::blob_in_use(const std::string& blob) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto one, db::first<std::int64_t>(*c, "SELECT 1 FROM wardrobe_items WHERE blob=? LIMIT 1",
                                        {blob}, [](const db::Row& r) { return r.integer(0); }));
  return one.has_value();
}

Result<WardrobeVersion> ItemRepository::version(const std::string& owner) {
  ATELIER_ASSIGN_OR_RETURN(db::Lease c, db_.lease(work_));
  ATELIER_ASSIGN_OR_RETURN(
      auto v,
      db::first<WardrobeVersion>(*c,
                                 "SELECT count(*), CAST(coalesce(sum(updated_at), 0) AS BIGINT) "
                                 "FROM wardrobe_items WHERE owner=?",
                                 {owner}, [](const db::Row& r) {
                                   return WardrobeVersion{r.integer(0), r.integer(1)};
                                 }));
  return v.value_or(WardrobeVersion{});
}

}  // namespace atelier::wardrobe
