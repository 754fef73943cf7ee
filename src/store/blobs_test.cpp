#include "store/blobs.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "core/sha256.h"

namespace atelier {
namespace {

class BlobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("atelier-blobs-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    store_ = open_file_blob_store(root_.string());
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  std::size_t files() const {
    std::size_t n = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(root_))
      n += e.is_regular_file();
    return n;
  }
  std::filesystem::path root_;
  std::unique_ptr<BlobStore> store_;
};

TEST_F(BlobStoreTest, RemoveUnlessKeepsWhatARowUsesAndRemovesTheRest) {
  const std::string h = *store_->put("photo");
  EXPECT_EQ(h, sha256_hex("photo"));
  ASSERT_TRUE(store_->remove_unless(h, [] { return Result<bool>(true); }).is_ok());
  EXPECT_EQ(*store_->get(h), "photo") << "in use: put back";
  EXPECT_FALSE(
      store_->remove_unless(h, [] { return Result<bool>(Status::unavailable("db")); }).is_ok());
  EXPECT_EQ(*store_->get(h), "photo") << "unsure: kept";
  ASSERT_TRUE(store_->remove_unless(h, [] { return Result<bool>(false); }).is_ok());
  EXPECT_FALSE(store_->exists(h));
  EXPECT_EQ(files(), 0u) << "nothing left aside";
  EXPECT_TRUE(store_->remove_unless(h, [] { return Result<bool>(false); }).is_ok()) << "gone";
}

// An upload of the same bytes while the collector checks (the blob is moved
// aside): the upload writes it anew and the collector leaves that copy.
TEST_F(BlobStoreTest, AnUploadRacingACollectorKeepsItsBlob) {
  const std::string h = *store_->put("same photo");
  bool row_now = false;
  ASSERT_TRUE(store_
                  ->remove_unless(h,
                                  [&] {
                                    // The racing upload: its row first, then put().
                                    row_now = true;
                                    EXPECT_FALSE(store_->exists(h));
                                    EXPECT_TRUE(store_->put("same photo").is_ok());
                                    return Result<bool>(row_now);
                                  })
                  .is_ok());
  EXPECT_EQ(*store_->get(h), "same photo");
  EXPECT_EQ(files(), 1u);
  // And when the upload's row came too late for the check, its put() still
  // finds no blob and writes it.
  ASSERT_TRUE(store_->remove_unless(h, [] { return Result<bool>(false); }).is_ok());
  EXPECT_TRUE(store_->put("same photo").is_ok());
  EXPECT_EQ(*store_->get(h), "same photo");
}

}  // namespace
}  // namespace atelier
