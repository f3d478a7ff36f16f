// Layer diffs with the overlay snapshotter (needs root and overlayfs): the
// upper-dir walk with real whiteouts and opaque directories.
#include <gtest/gtest.h>
#include <unistd.h>

#include "kiln/solver/layer_diff.h"
#include "layer_diff_test_util.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

TEST(LayerDiffOverlayTest, ChainRoundTripsThroughApplyLayer) {
  if (geteuid() != 0) GTEST_SKIP() << "overlay snapshots need root";
  testing::TempDir tmp("kiln-layer-diff-root-");
  auto snaps =
      OpenSnapshotter(tmp.path() + "/snaps", SnapshotterKind::kOverlay);
  if (!snaps.ok()) {
    KILN_SKIP_UNLESS_REQUIRED("overlay unusable: " + snaps.status().ToString());
  }
  auto content = ContentStore::Open(tmp.path() + "/content");
  ASSERT_TRUE(content.ok());
  testing::RunLayerDiffRoundTrip(**snaps, **content, tmp.path());
}

TEST(LayerDiffOverlayTest, OpaqueDirectoryGetsMarker) {
  if (geteuid() != 0) GTEST_SKIP() << "overlay snapshots need root";
  testing::TempDir tmp("kiln-layer-diff-root-");
  auto snaps =
      OpenSnapshotter(tmp.path() + "/snaps", SnapshotterKind::kOverlay);
  if (!snaps.ok()) {
    KILN_SKIP_UNLESS_REQUIRED("overlay unusable: " + snaps.status().ToString());
  }
  auto content = ContentStore::Open(tmp.path() + "/content");
  ASSERT_TRUE(content.ok());
  Snapshotter& s = **snaps;
  testing::CommitStep(s, tmp.path(), "a", "", [](const std::string& d) {
    testing::WriteFile(d + "/dir/old", "old\n");
  });
  testing::CommitStep(s, tmp.path(), "b", "a", [](const std::string& d) {
    std::filesystem::remove_all(d + "/dir");
    testing::WriteFile(d + "/dir/new", "new\n");
  });
  auto layer = CreateLayer(s, "b", **content);
  ASSERT_TRUE(layer.ok()) << layer.status().ToString();
  EXPECT_EQ(testing::TarNames((*content)->BlobPath(layer->descriptor.digest)),
            (std::vector<std::string>{"dir", "dir/.wh..wh..opq", "dir/new"}));
}

}  // namespace
}  // namespace kiln::solver
