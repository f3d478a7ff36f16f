// The image store is a valid OCI layout for other tools: skopeo and umoci
// address kiln's full normalized names ("docker.io/library/busybox:latest")
// as written in org.opencontainers.image.ref.name.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "kiln/solver/image_import.h"
#include "kiln/solver/layer_unpack.h"
#include "kiln/solver/snapshotter.h"
#include "support/store_test.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

namespace fs = std::filesystem;

using testing::CommandResult;
using testing::HaveProgram;
using testing::ReadFile;
using testing::RunShell;

class ImageToolsTest : public testing::StoreTest {
 protected:
  ImageToolsTest() : StoreTest("kiln-tools-test-") {}

  // umoci unpack of the store's busybox into root_/bundle.
  void UnpackWithUmoci() {
    CommandResult unpack = RunShell(
        "umoci unpack --rootless --image " + root_ +
        "/images:docker.io/library/busybox:latest " + root_ + "/bundle");
    ASSERT_EQ(unpack.exit_code, 0) << unpack.output;
  }

  void SetUp() override {
    if (!fs::exists("/bin/busybox"))
      KILN_SKIP_UNLESS_REQUIRED("busybox-static is not installed");
    StoreTest::SetUp();
    if (HasFatalFailure()) return;

    // The tree of shared/tools/make-busybox-oci.sh.
    std::string rootfs = root_ + "/rootfs";
    CommandResult made = RunShell(
        "set -e; r=" + rootfs +
        "; mkdir -p $r/bin $r/etc $r/tmp $r/root $r/dev $r/proc $r/sys;"
        " cp /bin/busybox $r/bin/busybox;"
        " for a in $(/bin/busybox --list); do [ $a = busybox ] || "
        "ln -sf busybox $r/bin/$a; done;"
        " printf 'root:x:0:0:root:/root:/bin/sh\\n' > $r/etc/passwd;"
        " chmod 1777 $r/tmp");
    ASSERT_EQ(made.exit_code, 0) << made.output;
    ImportOptions options;
    options.source = rootfs;
    options.name = "busybox";
    options.source_date_epoch = 0;
    options.config_json = R"({"config":{"Env":["PATH=/bin"],"Cmd":["sh"]}})";
    auto desc = ImportImage(*images_, options);
    ASSERT_TRUE(desc.ok()) << desc.status().ToString();
    manifest_ = *desc;
  }

  oci::Descriptor manifest_;
};

TEST_F(ImageToolsTest, SkopeoInspectsTheStoreByFullName) {
  if (!HaveProgram("skopeo"))
    KILN_SKIP_UNLESS_REQUIRED("skopeo is not installed");
  CommandResult inspect = RunShell("skopeo inspect oci:" + root_ +
                                   "/images:docker.io/library/busybox:latest");
  ASSERT_EQ(inspect.exit_code, 0) << inspect.output;
  auto doc = nlohmann::json::parse(inspect.output, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << inspect.output;
  EXPECT_EQ(doc["Digest"], manifest_.digest.str());
  EXPECT_EQ(doc["Os"], "linux");
  EXPECT_EQ(doc["Architecture"], llb::HostPlatform().architecture);
  EXPECT_EQ(doc["Created"], "1970-01-01T00:00:00Z");
  auto resolved = images_->Resolve(manifest_, llb::HostPlatform());
  ASSERT_TRUE(resolved.ok());
  ASSERT_EQ(doc["Layers"].size(), 1u);
  EXPECT_EQ(doc["Layers"][0], resolved->manifest.layers[0].digest.str());

  // Copying out reads every blob through the blobs link.
  CommandResult copy = RunShell(
      "skopeo copy oci:" + root_ +
      "/images:docker.io/library/busybox:latest oci:" + root_ + "/copy:latest");
  ASSERT_EQ(copy.exit_code, 0) << copy.output;
  EXPECT_EQ(ReadFile(root_ + "/copy/blobs/sha256/" +
                     std::string(manifest_.digest.hex())),
            *content_->ReadAll(manifest_.digest));
}

TEST_F(ImageToolsTest, UmociUnpacksTheStoreByFullName) {
  if (!HaveProgram("umoci"))
    KILN_SKIP_UNLESS_REQUIRED("umoci is not installed");
  ASSERT_NO_FATAL_FAILURE(UnpackWithUmoci());
  std::string rootfs = root_ + "/bundle/rootfs";
  EXPECT_EQ(ReadFile(rootfs + "/bin/busybox"), ReadFile("/bin/busybox"));
  EXPECT_EQ(fs::read_symlink(rootfs + "/bin/sh"), fs::path("busybox"));
  EXPECT_EQ(fs::status(rootfs + "/tmp").permissions(),
            fs::perms::all | fs::perms::sticky_bit);
  CommandResult echo = RunShell(rootfs + "/bin/busybox echo hello");
  ASSERT_EQ(echo.exit_code, 0);
  EXPECT_EQ(echo.output, "hello\n");
  // umoci leaves the layout as it found it: kiln still reads its index.
  EXPECT_EQ(images_->Get("busybox")->target.digest, manifest_.digest);
}

TEST_F(ImageToolsTest, KilnUnpacksTheSameTreeAsUmoci) {
  if (!HaveProgram("umoci"))
    KILN_SKIP_UNLESS_REQUIRED("umoci is not installed");
  ASSERT_NO_FATAL_FAILURE(UnpackWithUmoci());

  auto snapshots =
      OpenSnapshotter(root_ + "/snapshots", SnapshotterKind::kCopy);
  ASSERT_TRUE(snapshots.ok()) << snapshots.status().ToString();
  auto image = images_->Resolve(manifest_, llb::HostPlatform());
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  auto top =
      UnpackImage(**snapshots, *content_, image->manifest, image->config);
  ASSERT_TRUE(top.ok()) << top.status().ToString();
  auto mounts = (*snapshots)->Mounts(*top);
  ASSERT_TRUE(mounts.ok() && mounts->size() == 1u);

  auto ours = testing::DumpTree((*mounts)[0].source, /*times=*/true);
  auto theirs = testing::DumpTree(root_ + "/bundle/rootfs", /*times=*/true);
  EXPECT_GT(ours.size(), 250u);  // busybox and its applet links
  EXPECT_EQ(ours, theirs);
}

}  // namespace
}  // namespace kiln::solver
