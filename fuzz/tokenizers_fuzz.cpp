// BERT WordPiece and CLIP byte-level BPE on arbitrary text, with the real
// vocabularies from the shared models folder (ATELIER_FUZZ_TOKENIZERS, set by
// scripts/fuzz.sh). Any bytes may arrive: invalid UTF-8 included.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "tokenize/clip_bpe.h"
#include "tokenize/wordpiece.h"

namespace {
std::string dir() {
  const char* d = std::getenv("ATELIER_FUZZ_TOKENIZERS");
  return d ? d : "../shared/models/tokenizers";
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto wordpiece =
      atelier::tokenize::WordPiece::load(dir() + "/bert_uncased_vocab.txt", {});
  static const auto bpe =
      atelier::tokenize::ClipBpe::load_simple_vocab(dir() + "/clip_bpe_simple_vocab_16e6.txt.gz");
  if (!wordpiece.is_ok() || !bpe.is_ok()) std::abort();  // the vocabularies must load
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)(*wordpiece)->encode(text, 64);
  (void)(*bpe)->encode(text, 77);
  return 0;
}
