#include "design/presets.h"

namespace atelier::design {

namespace {

constexpr const char* kBaseNegative =
    "blurry, lowres, distorted perspective, warped walls, extra windows, duplicate furniture, "
    "people, text, "
    "watermark, cartoon, oversaturated";

}  // namespace

const std::vector<StylePreset>& styles() {
  static const std::vector<StylePreset> s = {
      {"modern",
       "Modern",
       "modern interior, clean lines, neutral tones with bold accents, sleek furniture",
       "ornate, cluttered, rustic",
       {"white", "gainsboro", "dimgray", "black", "steelblue"},
       {"lacquer", "glass", "polished concrete", "chrome"},
       "bright even daylight with recessed lighting",
       {-2, 0.9, 1.1, 2}},
      {"scandinavian",
       "Scandinavian",
       "scandinavian interior, light wood, cozy textiles, airy and bright",
       "dark, heavy drapery, ornate",
       {"white", "linen", "burlywood", "lightgray", "darkseagreen"},
       {"light oak", "wool", "linen", "ceramic"},
       "soft northern daylight",
       {1, 0.8, 1.0, 6}},
      {"industrial",
       "Industrial",
       "industrial loft interior, exposed brick, black metal, raw concrete",
       "pastel, floral, ornate",
       {"dimgray", "sienna", "black", "darkgray", "peru"},
       {"exposed brick", "black steel", "concrete", "reclaimed wood"},
       "warm Edison bulbs and large factory windows",
       {3, 0.85, 1.15, -4}},
      {"bohemian",
       "Bohemian",
       "bohemian interior, layered patterns, plants, rattan, eclectic warm colours",
       "sterile, minimal, monochrome",
       {"darkgoldenrod", "indianred", "teal", "olivedrab", "burlywood"},
       {"rattan", "macrame", "kilim rugs", "terracotta"},
       "warm golden-hour light",
       {6, 1.2, 1.0, 0}},
      {"minimalist",
       "Minimalist",
       "minimalist interior, uncluttered, monochrome, essential furniture only",
       "clutter, patterns, ornaments",
       {"white", "whitesmoke", "silver", "gray", "black"},
       {"matte plaster", "pale wood", "stone"},
       "diffuse bright daylight",
       {0, 0.6, 1.05, 5}},
      {"mid-century",
       "Mid-century modern",
       "mid-century modern interior, walnut, tapered legs, retro accents",
       "ornate, rustic, industrial",
       {"saddlebrown", "goldenrod", "teal", "darkorange", "oldlace"},
       {"walnut", "teak", "brass", "bouclé"},
       "warm afternoon light and globe pendants",
       {4, 1.1, 1.05, 0}},
      {"japandi",
       "Japandi",
       "japandi interior, wabi-sabi calm, low furniture, natural materials, muted tones",
       "bright colours, clutter, glossy",
       {"linen", "tan", "darkolivegreen", "dimgray", "wheat"},
       {"ash wood", "paper", "stone", "linen"},
       "soft diffuse light through shoji screens",
       {2, 0.7, 0.95, 2}},
      {"coastal",
       "Coastal",
       "coastal interior, breezy, light blues and sandy whites, natural textures",
       "dark, heavy, industrial",
       {"white", "lightblue", "steelblue", "wheat", "navajowhite"},
       {"whitewashed wood", "jute", "linen", "seagrass"},
       "bright seaside daylight",
       {-3, 0.9, 1.0, 6}},
      {"farmhouse",
       "Farmhouse",
       "modern farmhouse interior, shiplap, rustic wood beams, vintage accents",
       "sleek, futuristic, neon",
       {"white", "tan", "saddlebrown", "darkslategray", "beige"},
       {"shiplap", "reclaimed wood", "wrought iron", "cotton"},
       "warm natural light",
       {4, 0.85, 1.0, 2}},
      {"art-deco",
       "Art deco",
       "art deco interior, geometric patterns, velvet, brass, jewel tones, glamour",
       "rustic, plain, minimal",
       {"darkgreen", "goldenrod", "black", "midnightblue", "maroon"},
       {"velvet", "brass", "marble", "lacquer"},
       "dramatic warm accent lighting",
       {3, 1.25, 1.15, -3}},
      {"traditional",
       "Traditional",
       "traditional interior, classic furniture, rich wood, elegant fabrics",
       "futuristic, industrial, neon",
       {"maroon", "burlywood", "darkolivegreen", "ivory", "saddlebrown"},
       {"mahogany", "damask", "brass", "wool"},
       "warm lamp light",
       {5, 1.0, 1.05, -2}},
      {"rustic",
       "Rustic",
       "rustic cabin interior, heavy timber, stone, earthy tones, cozy",
       "sleek, glossy, neon",
       {"sienna", "saddlebrown", "darkolivegreen", "tan", "dimgray"},
       {"rough timber", "fieldstone", "leather", "wool"},
       "warm firelight",
       {7, 0.9, 1.05, -4}},
  };
  return s;
}

const std::vector<RoomType>& room_types() {
  static const std::vector<RoomType> r = {
      {"living_room", "living room", "sofa, armchairs, coffee table, rug, shelves"},
      {"bedroom", "bedroom", "bed, nightstands, wardrobe, rug, reading lamp"},
      {"kitchen", "kitchen", "cabinets, countertops, island, stools, backsplash"},
      {"bathroom", "bathroom", "vanity, mirror, bathtub or shower, tiles, towels"},
      {"dining_room", "dining room", "dining table, chairs, sideboard, pendant lamp"},
      {"home_office", "home office", "desk, office chair, bookshelves, task lamp"},
      {"other", "room", "furniture and decor"},
  };
  return r;
}

const StylePreset* find_style(const std::string& id) {
  for (const auto& s : styles())
    if (s.id == id) return &s;
  return nullptr;
}

const RoomType* find_room_type(const std::string& id) {
  for (const auto& r : room_types())
    if (r.id == id) return &r;
  return nullptr;
}

Result<Prompt> build_prompt(const std::string& style, const std::string& room_type,
                            const std::string& extra) {
  const StylePreset* s = find_style(style);
  if (!s) {
    std::string ids;
    for (const auto& x : styles()) ids += (ids.empty() ? "" : ", ") + x.id;
    return Status::invalid_argument("unknown style '" + style + "'; styles: " + ids);
  }
  const RoomType* r = find_room_type(room_type);
  if (!r) {
    std::string ids;
    for (const auto& x : room_types()) ids += (ids.empty() ? "" : ", ") + x.id;
    return Status::invalid_argument("unknown room type '" + room_type + "'; room types: " + ids);
  }
  std::string add = extra;
  const auto b = add.find_first_not_of(" \t\r\n"), e = add.find_last_not_of(" \t\r\n");
  add = b == std::string::npos ? "" : add.substr(b, e - b + 1);
  if (add.size() > 500) return Status::invalid_argument("'prompt' is longer than 500 characters");
  for (unsigned char c : add)
    if (c < 0x20) return Status::invalid_argument("'prompt' holds control characters");
  Prompt p;
  std::string materials, palette;
  for (const auto& m : s->materials) materials += (materials.empty() ? "" : ", ") + m;
  for (const auto& c : s->palette) palette += (palette.empty() ? "" : ", ") + c;
  p.positive = "a photo of a " + s->prompt + " " + r->name + ", " + r->furniture +
               ", materials: " + materials + ", colour palette: " + palette + ", " + s->lighting +
               ", same room layout and camera angle, photorealistic, high detail";
  if (!add.empty()) p.positive += ", " + add;
  p.negative = std::string(kBaseNegative) + ", " + s->negative;
  return p;
}

}  // namespace atelier::design
