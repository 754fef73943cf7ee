// Wardrobe item shapes (issue 23): the owner's tags, text fields and PATCH
// bodies as clients send them. Any bytes get a result or a status, never an
// exception; whatever is accepted is within the stored bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/json.h"
#include "wardrobe/fields.h"

namespace w = atelier::wardrobe;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto body = atelier::json::parse(text);
  if (!body.is_ok()) return 0;
  if (auto tags = w::parse_user_tags(*body); tags.is_ok() && w::validate(*tags).is_ok()) {
    if (tags->season && tags->season->size() > w::seasons().size()) std::abort();
    if (tags->type && tags->type->size() > w::kMaxTagBytes) std::abort();
  }
  if (auto p = w::parse_item_patch(*body); p.is_ok()) {
    if (p->name && p->name->size() > w::kMaxNameBytes) std::abort();
    if (p->notes && p->notes->size() > w::kMaxNotesBytes) std::abort();
    if (p->set.season && p->set.season->size() > w::seasons().size()) std::abort();
  }
  return 0;
}
