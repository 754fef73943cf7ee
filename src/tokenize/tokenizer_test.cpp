// Tokenizer anchors on the real vocabularies in ../shared/models/tokenizers,
// with ids published alongside the models (the BERT paper's and CLIP's
// examples). The full derivation from the published algorithms over a wider
// set (accents, emoji, CJK, long words, entities) is in
// engines/native/native_exact_test.cpp.
#include <gtest/gtest.h>

#include "tokenize/clip_bpe.h"
#include "tokenize/wordpiece.h"

namespace atelier::tokenize {
namespace {

const std::string kTok = std::string(ATELIER_SOURCE_DIR) + "/../shared/models/tokenizers/";

TEST(WordPiece, PublishedIdsAndRules) {
  auto wp = WordPiece::load(kTok + "bert_uncased_vocab.txt", {});
  ASSERT_TRUE(wp.is_ok()) << wp.status().message();
  EXPECT_EQ((*wp)->encode("hello world").ids, (std::vector<std::int32_t>{101, 7592, 2088, 102}));
  EXPECT_EQ((*wp)->encode("").ids, (std::vector<std::int32_t>{101, 102}));
  // Lowercased, accents stripped, punctuation split off, greedy longest-match
  // continuation pieces (this vocabulary has "una", not the paper's "un").
  EXPECT_EQ((*wp)->tokenize("Héllo, UNAFFABLE!"),
            (std::vector<std::string>{"hello", ",", "una", "##ffa", "##ble", "!"}));
  // Each CJK ideograph is a word of its own.
  EXPECT_EQ((*wp)->tokenize("中文").size(), 2u);
  // Over 100 characters, or a piece missing from the vocabulary: [UNK].
  EXPECT_EQ((*wp)->tokenize(std::string(101, 'a')), (std::vector<std::string>{"[UNK]"}));
  EXPECT_EQ((*wp)->tokenize("👗"), (std::vector<std::string>{"[UNK]"}));
  // Cased: no lowercasing, accents kept.
  WordPieceOptions cased;
  cased.lowercase = false;
  auto c = WordPiece::load(kTok + "bert_uncased_vocab.txt", cased);
  ASSERT_TRUE(c.is_ok());
  EXPECT_EQ((*c)->tokenize("Hello"),
            (std::vector<std::string>{"[UNK]"}));  // an uncased vocab has no "Hello"
}

TEST(ClipBpe, PublishedIdsAndRules) {
  auto bpe = ClipBpe::load_simple_vocab(kTok + "clip_bpe_simple_vocab_16e6.txt.gz");
  ASSERT_TRUE(bpe.is_ok()) << bpe.status().message();
  EXPECT_EQ((*bpe)->encode("a photo of a cat").ids,
            (std::vector<std::int32_t>{49406, 320, 1125, 539, 320, 2368, 49407}));
  EXPECT_EQ((*bpe)->encode("").ids, (std::vector<std::int32_t>{49406, 49407}));
  EXPECT_EQ((*bpe)->tokenize("Hello   World"),
            (std::vector<std::string>{"hello</w>", "world</w>"}));
  EXPECT_EQ((*bpe)->tokenize("don't"), (std::vector<std::string>{"don</w>", "'t</w>"}));
  EXPECT_EQ((*bpe)->tokenize("&amp;"), (std::vector<std::string>{"&</w>"}));
  // Truncation keeps the end token.
  auto t = (*bpe)->encode(std::string(200, 'x') + " " + std::string(500, 'y'), 77);
  EXPECT_EQ(t.ids.size(), 77u);
  EXPECT_EQ(t.ids.back(), 49407);
  EXPECT_TRUE(t.truncated);
}

}  // namespace
}  // namespace atelier::tokenize
