// Layer diffs with the copy snapshotter (no root needed): the round trip of
// layer_diff_test_util.h, compression and timestamp options, errors.
#include "kiln/solver/layer_diff.h"

#include <gtest/gtest.h>

#include "layer_diff_test_util.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

using testing::TarNames;
using testing::TempDir;

class LayerDiffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto snaps =
        OpenSnapshotter(tmp_.path() + "/snaps", SnapshotterKind::kCopy);
    ASSERT_TRUE(snaps.ok()) << snaps.status().ToString();
    snaps_ = std::move(*snaps);
    auto content = ContentStore::Open(tmp_.path() + "/content");
    ASSERT_TRUE(content.ok());
    content_ = std::move(*content);
  }

  TempDir tmp_{"kiln-layer-diff-"};
  std::unique_ptr<Snapshotter> snaps_;
  std::unique_ptr<ContentStore> content_;
};

TEST_F(LayerDiffTest, ChainRoundTripsThroughApplyLayer) {
  testing::RunLayerDiffRoundTrip(*snaps_, *content_, tmp_.path());
}

TEST_F(LayerDiffTest, CompressionsAndRewriteTimestamp) {
  testing::CommitStep(*snaps_, tmp_.path(), "base", "",
                      [](const std::string& d) {
                        testing::WriteFile(d + "/f", "hello\n");
                        testing::SetMtime(d + "/f", 2000000000);
                        testing::SetMtime(d, 2000000000);
                      });
  LayerBlob blobs[3];
  oci::Compression kinds[3] = {oci::Compression::kGzip, oci::Compression::kNone,
                               oci::Compression::kZstd};
  const char* types[3] = {"application/vnd.oci.image.layer.v1.tar+gzip",
                          "application/vnd.oci.image.layer.v1.tar",
                          "application/vnd.oci.image.layer.v1.tar+zstd"};
  for (int i = 0; i < 3; ++i) {
    auto layer = CreateLayer(*snaps_, "base", *content_,
                             LayerOptions{.compression = kinds[i]});
    ASSERT_TRUE(layer.ok()) << layer.status().ToString();
    blobs[i] = *layer;
    EXPECT_EQ(layer->descriptor.media_type, types[i]);
    EXPECT_EQ(TarNames(content_->BlobPath(layer->descriptor.digest)),
              std::vector<std::string>{"f"});
  }
  EXPECT_EQ(blobs[0].diff_id, blobs[1].diff_id);
  EXPECT_EQ(blobs[0].diff_id, blobs[2].diff_id);
  // Uncompressed: the blob is the tar, its digest the diff_id.
  EXPECT_EQ(blobs[1].descriptor.digest, blobs[1].diff_id);
  EXPECT_NE(blobs[0].descriptor.digest, blobs[2].descriptor.digest);
  // Deterministic: the same layer again gives the same bytes.
  auto again = CreateLayer(*snaps_, "base", *content_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->descriptor.digest, blobs[0].descriptor.digest);

  auto clamped =
      CreateLayer(*snaps_, "base", *content_,
                  LayerOptions{.compression = oci::Compression::kNone,
                               .rewrite_timestamp = 1000});
  ASSERT_TRUE(clamped.ok());
  EXPECT_NE(clamped->diff_id, blobs[1].diff_id);
  TempDir out("kiln-diff-clamp-");
  ApplyOptions opts;
  opts.force_unprivileged = true;
  ASSERT_TRUE(ApplyLayer(content_->BlobPath(clamped->descriptor.digest),
                         oci::Compression::kNone, out.path(), opts)
                  .ok());
  struct stat st {};
  ASSERT_EQ(stat((out.path() + "/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtime, 1000);
  // A later bound leaves the times alone.
  auto unclamped =
      CreateLayer(*snaps_, "base", *content_,
                  LayerOptions{.compression = oci::Compression::kNone,
                               .rewrite_timestamp = 2100000000});
  ASSERT_TRUE(unclamped.ok());
  EXPECT_EQ(unclamped->diff_id, blobs[1].diff_id);
}

TEST_F(LayerDiffTest, Errors) {
  auto missing = CreateLayer(*snaps_, "nope", *content_);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(snaps_->Prepare("active", "").ok());
  auto active = CreateLayer(*snaps_, "active", *content_);
  EXPECT_EQ(active.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(SnapshotChain(*snaps_, "nope").status().code(),
            StatusCode::kNotFound);
  auto empty = SnapshotChain(*snaps_, "");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_EQ(snaps_->OwnDir("nope").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace kiln::solver
