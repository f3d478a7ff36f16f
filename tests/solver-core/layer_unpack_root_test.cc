// ApplyLayer with privilege: overlay whiteouts as device nodes and xattrs,
// ownership, device nodes, trusted.* xattrs. Skipped unless run as root.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "kiln/solver/layer_unpack.h"
#include "layer_test_util.h"

namespace kiln::solver {
namespace {

using ::kiln::solver::testing::LayerTarEntry;
using ::kiln::solver::testing::TarDir;
using ::kiln::solver::testing::TarFile;
using ::kiln::solver::testing::TarSymlink;
namespace fs = std::filesystem;

class LayerUnpackRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0)
      KILN_SKIP_UNLESS_REQUIRED(
          "needs root (device nodes, chown, trusted.* xattrs)");
    dest_ = tmp_.path() + "/dest";
    fs::create_directories(dest_);
  }

  Result<UnpackStats> Apply(const std::vector<LayerTarEntry>& entries,
                            ApplyOptions options = {}) {
    std::string blob = tmp_.path() + "/blob";
    testing::WriteFile(blob, testing::BuildLayerTar(entries));
    return ApplyLayer(blob, oci::Compression::kNone, dest_, options);
  }

  struct stat Lstat(const std::string& rel) {
    struct stat st {};
    EXPECT_EQ(lstat((dest_ + "/" + rel).c_str(), &st), 0) << rel;
    return st;
  }

  testing::TempDir tmp_;
  std::string dest_;
};

TEST_F(LayerUnpackRootTest, OverlayModeWritesWhiteoutDevicesAndOpaqueXattrs) {
  // The lower layer, as the snapshot below the upper dir would hold it.
  std::string lower = tmp_.path() + "/lower";
  testing::WriteFile(lower + "/etc/passwd", "root");
  ASSERT_EQ(chmod((lower + "/etc").c_str(), 0700), 0);
  ASSERT_EQ(chown((lower + "/etc").c_str(), 1234, 1234), 0);
  fs::create_directories(lower + "/tmp");
  ASSERT_EQ(chmod((lower + "/tmp").c_str(), 01777), 0);

  LayerTarEntry redirect = TarDir("opt");
  redirect.xattrs = {{"trusted.overlay.redirect", "/etc"}};
  auto stats = Apply(
      {TarFile(".wh.gone", ""), TarFile("etc/.wh.passwd", ""), redirect,
       TarFile("opt/.wh..wh..opq", ""), TarFile("opt/new", "n"),
       TarFile("tmp/t", "t")},
      ApplyOptions{.mode = LayerApplyMode::kOverlay, .lower_dirs = {lower}});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->whiteouts, 3);
  EXPECT_EQ(stats->skipped_xattrs, 1);
  for (const char* whiteout : {"gone", "etc/passwd"}) {
    struct stat st = Lstat(whiteout);
    EXPECT_TRUE(S_ISCHR(st.st_mode)) << whiteout;
    EXPECT_EQ(st.st_rdev, makedev(0, 0)) << whiteout;
  }
  EXPECT_EQ(testing::GetXattr(dest_ + "/opt", "trusted.overlay.opaque"), "y");
  EXPECT_EQ(testing::GetXattr(dest_ + "/opt", "trusted.overlay.redirect"),
            "<none>");
  // Parents the layer did not list take the lower directory's metadata.
  struct stat etc = Lstat("etc");
  EXPECT_EQ(etc.st_mode & 07777, 0700u);
  EXPECT_EQ(etc.st_uid, 1234u);
  EXPECT_EQ(Lstat("tmp").st_mode & 07777, 01777u);
}

TEST_F(LayerUnpackRootTest, OverlayModeLateOpaqueMarkerKeepsUnlistedParents) {
  std::string lower = tmp_.path() + "/lower";
  testing::WriteFile(lower + "/p/old", "o");
  auto stats = Apply(
      {TarFile("p/sub/fresh", "f"), TarFile("p/.wh..wh..opq", "")},
      ApplyOptions{.mode = LayerApplyMode::kOverlay, .lower_dirs = {lower}});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(testing::ReadFile(dest_ + "/p/sub/fresh"), "f");
  EXPECT_EQ(testing::GetXattr(dest_ + "/p", "trusted.overlay.opaque"), "y");

  // What a container sees: the layer's p only.
  std::string merged = tmp_.path() + "/merged";
  fs::create_directories(merged);
  std::string data = "lowerdir=" + dest_ + ":" + lower;
  ASSERT_EQ(
      mount("overlay", merged.c_str(), "overlay", MS_RDONLY, data.c_str()), 0)
      << "mount -t overlay -o " << data << ": " << std::strerror(errno);
  auto tree = testing::DumpTree(merged);
  umount2(merged.c_str(), MNT_DETACH);
  EXPECT_EQ(
      tree,
      (std::map<std::string, std::string>{
          {"p", "d 0755"}, {"p/sub", "d 0755"}, {"p/sub/fresh", "f 0644 f"}}));
}

TEST_F(LayerUnpackRootTest, OverlayModeParentMetadataStaysInsideLowerDirs) {
  // A host directory with telltale metadata, reachable from the lower dir
  // only through a symlink that points out of it.
  std::string host = tmp_.path() + "/host";
  testing::WriteFile(host + "/secret/keep", "k");
  ASSERT_EQ(chmod((host + "/secret").c_str(), 0710), 0);
  ASSERT_EQ(chown((host + "/secret").c_str(), 4321, 4321), 0);
  std::string lower = tmp_.path() + "/lower";
  fs::create_directories(lower + "/inner/sec");
  ASSERT_EQ(chmod((lower + "/inner/sec").c_str(), 0750), 0);
  ASSERT_EQ(chown((lower + "/inner/sec").c_str(), 1111, 1111), 0);
  fs::create_symlink(host, lower + "/a");      // escapes the lower dir
  fs::create_symlink("/inner", lower + "/b");  // absolute, in the lower root

  for (bool portable : {false, true}) {
    SCOPED_TRACE(portable ? "portable resolver" : "openat2");
    fs::remove_all(dest_);
    fs::create_directories(dest_);
    auto stats =
        Apply({TarFile("a/secret/file", "x"), TarFile("b/sec/file", "y")},
              ApplyOptions{.mode = LayerApplyMode::kOverlay,
                           .lower_dirs = {lower},
                           .force_portable_resolve = portable});
    ASSERT_TRUE(stats.ok()) << stats.status().ToString();
    struct stat secret = Lstat("a/secret");
    EXPECT_EQ(secret.st_mode & 07777, 0755u) << "took the host dir's mode";
    EXPECT_EQ(secret.st_uid, 0u) << "took the host dir's owner";
    // b/sec is lower/inner/sec when `/` is the lower dir.
    struct stat sec = Lstat("b/sec");
    EXPECT_EQ(sec.st_mode & 07777, 0750u);
    EXPECT_EQ(sec.st_uid, 1111u);
  }
  struct stat host_st {};
  ASSERT_EQ(lstat((host + "/secret").c_str(), &host_st), 0);
  EXPECT_EQ(host_st.st_mode & 07777, 0710u);
}

TEST_F(LayerUnpackRootTest, AppliesOwnershipDevicesAndTrustedXattrs) {
  LayerTarEntry tool = TarFile("bin/tool", "x", 04755);
  tool.uid = 1234;
  tool.gid = 5678;
  tool.xattrs = {{"trusted.kiln", "t"}, {"trusted.overlay.opaque", "y"}};
  LayerTarEntry dir = TarDir("home", 0750);
  dir.uid = 1000;
  dir.gid = 1000;
  LayerTarEntry link = TarSymlink("home/link", "/bin/tool");
  link.uid = 1000;
  link.gid = 1001;
  LayerTarEntry null_dev{
      .path = "dev/null", .type = 'c', .mode = 0666, .rdev = makedev(1, 3)};
  LayerTarEntry loop_dev{
      .path = "dev/loop0", .type = 'b', .mode = 0660, .rdev = makedev(7, 0)};
  auto stats = Apply(
      {TarDir("bin"), tool, dir, link, TarDir("dev"), null_dev, loop_dev});
  ASSERT_TRUE(stats.ok()) << stats.status().ToString();
  EXPECT_EQ(stats->skipped_devices, 0);
  EXPECT_EQ(stats->skipped_chowns, 0);
  EXPECT_EQ(stats->skipped_xattrs, 1);

  struct stat st = Lstat("bin/tool");
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mode & 07777, 04755u) << "setuid survives the chown";
  EXPECT_EQ(testing::GetXattr(dest_ + "/bin/tool", "trusted.kiln"), "t");
  EXPECT_EQ(Lstat("home").st_uid, 1000u);
  EXPECT_EQ(Lstat("home/link").st_gid, 1001u);
  EXPECT_EQ(testing::DumpTree(dest_)["dev/null"], "c 1,3");
  EXPECT_EQ(testing::DumpTree(dest_)["dev/loop0"], "b 7,0");
  EXPECT_EQ(Lstat("dev/null").st_mode & 07777, 0666u);

  // The same layer, forced unprivileged, skips what needs privilege.
  fs::remove_all(dest_);
  fs::create_directories(dest_);
  auto user = Apply({TarDir("bin"), tool, TarDir("dev"), null_dev, loop_dev},
                    ApplyOptions{.force_unprivileged = true});
  ASSERT_TRUE(user.ok()) << user.status().ToString();
  EXPECT_EQ(user->skipped_devices, 2);
  EXPECT_EQ(user->skipped_chowns, 1);
  EXPECT_EQ(Lstat("bin/tool").st_uid, 0u);
  EXPECT_EQ(testing::GetXattr(dest_ + "/bin/tool", "trusted.kiln"), "<none>");
  EXPECT_FALSE(fs::exists(dest_ + "/dev/null"));
}

}  // namespace
}  // namespace kiln::solver
