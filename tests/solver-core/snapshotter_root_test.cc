// The overlay snapshotter for real: images unpacked into overlay snapshots,
// their mount specs mounted with mount(2), the merged trees checked.
// Skipped unless run as root on a kernel and filesystem where overlay works.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "kiln/solver/content_store.h"
#include "kiln/solver/layer_unpack.h"
#include "kiln/solver/snapshotter.h"
#include "layer_test_util.h"

namespace kiln::solver {
namespace {

namespace fs = std::filesystem;

// Mounts a snapshot's mount spec on `target` and unmounts it when destroyed,
// so a failing assertion leaves no mount behind.
class ScopedMount {
 public:
  ScopedMount(const std::vector<Mount>& mounts, std::string target)
      : target_(std::move(target)) {
    fs::create_directories(target_);
    if (mounts.size() != 1) {
      error_ = "expected one mount, got " + std::to_string(mounts.size());
      return;
    }
    const Mount& m = mounts[0];
    if (m.type == "bind") {
      bool ro = std::find(m.options.begin(), m.options.end(), "ro") !=
                m.options.end();
      if (mount(m.source.c_str(), target_.c_str(), nullptr, MS_BIND | MS_REC,
                nullptr) != 0) {
        error_ = std::string("bind mount: ") + std::strerror(errno);
        return;
      }
      mounted_ = true;
      if (ro && mount(nullptr, target_.c_str(), nullptr,
                      MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) != 0) {
        error_ = std::string("read-only remount: ") + std::strerror(errno);
      }
      return;
    }
    std::string data;
    for (const std::string& opt : m.options)
      data += (data.empty() ? "" : ",") + opt;
    if (mount(m.source.c_str(), target_.c_str(), m.type.c_str(), 0,
              data.c_str()) != 0) {
      error_ =
          "mount -t " + m.type + " -o " + data + ": " + std::strerror(errno);
      return;
    }
    mounted_ = true;
  }
  ~ScopedMount() {
    if (mounted_ && umount2(target_.c_str(), 0) != 0)
      umount2(target_.c_str(), MNT_DETACH);
  }
  ScopedMount(const ScopedMount&) = delete;
  ScopedMount& operator=(const ScopedMount&) = delete;

  const std::string& error() const { return error_; }
  const std::string& path() const { return target_; }

 private:
  std::string target_;
  bool mounted_ = false;
  std::string error_;
};

bool MountedUnder(const std::string& prefix) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(prefix) != std::string::npos) return true;
  }
  return false;
}

class OverlaySnapshotterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0)
      KILN_SKIP_UNLESS_REQUIRED("the overlay snapshotter needs root");
    auto opened =
        OpenSnapshotter(tmp_.path() + "/snapshots", SnapshotterKind::kAuto);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    if ((*opened)->kind() != SnapshotterKind::kOverlay) {
      KILN_SKIP_UNLESS_REQUIRED(
          "overlayfs is not usable here (auto picked copy)");
    }
    snapshotter_ = std::move(*opened);
    auto store = ContentStore::Open(tmp_.path() + "/content");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    content_ = std::move(*store);
  }

  void TearDown() override {
    snapshotter_.reset();
    EXPECT_FALSE(MountedUnder(tmp_.path())) << "a mount was left behind";
  }

  testing::TempDir tmp_;
  std::unique_ptr<Snapshotter> snapshotter_;
  std::unique_ptr<ContentStore> content_;
};

TEST_F(OverlaySnapshotterTest, ProbeLeavesNothingBehind) {
  for (const auto& e : fs::directory_iterator(tmp_.path() + "/snapshots")) {
    EXPECT_FALSE(e.path().filename().string().starts_with("probe-"))
        << e.path();
  }
}

TEST_F(OverlaySnapshotterTest, UnpackedChainMountsAsTheMergedTree) {
  testing::UnpackedTestImage unpacked;
  ASSERT_NO_FATAL_FAILURE(
      testing::UnpackThreeTestLayers(*snapshotter_, *content_, &unpacked));
  const std::string& top = unpacked.top;

  auto mounts = snapshotter_->Mounts(top);
  ASSERT_TRUE(mounts.ok()) << mounts.status().ToString();
  ASSERT_EQ(mounts->size(), 1u);
  EXPECT_EQ((*mounts)[0].type, "overlay");
  ASSERT_EQ((*mounts)[0].options.size(), 1u);
  ASSERT_TRUE((*mounts)[0].options[0].starts_with("lowerdir="));
  // Nearest first: the top layer's dir holds only its own changes.
  std::string lowers = (*mounts)[0].options[0].substr(9);
  std::string nearest = lowers.substr(0, lowers.find(':'));
  EXPECT_EQ(testing::ReadFile(nearest + "/bin/busybox"), "bb");
  EXPECT_FALSE(fs::exists(nearest + "/usr"));
  EXPECT_EQ(std::count(lowers.begin(), lowers.end(), ':'), 2);

  {
    ScopedMount merged(*mounts, tmp_.path() + "/merged");
    ASSERT_EQ(merged.error(), "");
    EXPECT_EQ(testing::DumpTree(merged.path()), testing::ThreeTestLayersTree());
    EXPECT_NE(access((merged.path() + "/new").c_str(), W_OK), 0)
        << "read-only overlay";
  }
  auto view = snapshotter_->View("view", top);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(*view, *mounts);
  ASSERT_TRUE(snapshotter_->Remove("view").ok());
}

TEST_F(OverlaySnapshotterTest, ActiveSnapshotIsAWritableOverlay) {
  testing::UnpackedTestImage unpacked;
  ASSERT_NO_FATAL_FAILURE(
      testing::UnpackThreeTestLayers(*snapshotter_, *content_, &unpacked));
  auto upper = snapshotter_->Prepare("rw", unpacked.top);
  ASSERT_TRUE(upper.ok()) << upper.status().ToString();
  auto mounts = snapshotter_->Mounts("rw");
  ASSERT_TRUE(mounts.ok());
  ASSERT_EQ(mounts->size(), 1u);
  const std::vector<std::string>& opts = (*mounts)[0].options;
  ASSERT_EQ(opts.size(), 3u);
  EXPECT_TRUE(opts[0].starts_with("lowerdir="));
  EXPECT_EQ(opts[1], "upperdir=" + *upper);
  EXPECT_TRUE(opts[2].starts_with("workdir="));
  {
    ScopedMount rw(*mounts, tmp_.path() + "/rw");
    ASSERT_EQ(rw.error(), "");
    testing::WriteFile(rw.path() + "/added", "added");
    ASSERT_TRUE(fs::remove(rw.path() + "/new"));
  }
  EXPECT_EQ(testing::ReadFile(*upper + "/added"), "added");
  struct stat st {};
  ASSERT_EQ(lstat((*upper + "/new").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode))
      << "overlayfs recorded the delete as a whiteout";

  ASSERT_TRUE(snapshotter_->Commit("next", "rw").ok());
  auto next = snapshotter_->Mounts("next");
  ASSERT_TRUE(next.ok());
  ScopedMount view(*next, tmp_.path() + "/next");
  ASSERT_EQ(view.error(), "");
  auto want = testing::ThreeTestLayersTree();
  want.erase("new");
  want["added"] = "f 0644 added";
  EXPECT_EQ(testing::DumpTree(view.path()), want);
}

TEST_F(OverlaySnapshotterTest, SingleLayerChainIsAReadOnlyBind) {
  auto image =
      testing::MakeTestImage(*content_, {testing::ThreeTestLayers()[0]});
  auto top =
      UnpackImage(*snapshotter_, *content_, image.manifest, image.config);
  ASSERT_TRUE(top.ok()) << top.status().ToString();
  auto mounts = snapshotter_->Mounts(*top);
  ASSERT_TRUE(mounts.ok());
  ASSERT_EQ(mounts->size(), 1u);
  EXPECT_EQ((*mounts)[0].type, "bind");
  ScopedMount ro(*mounts, tmp_.path() + "/ro");
  ASSERT_EQ(ro.error(), "");
  EXPECT_EQ(testing::ReadFile(ro.path() + "/etc/passwd"), "root:x:0:0");
  std::ofstream out(ro.path() + "/etc/new");
  EXPECT_FALSE(out.good())
      << "the committed layer cannot be written through its mount";
}

// Every occurrence of `from` in `text` replaced by `to`.
std::string ReplaceAll(std::string text, const std::string& from,
                       const std::string& to) {
  for (size_t pos = 0; (pos = text.find(from, pos)) != std::string::npos;
       pos += to.size()) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

// The mount(2) data a Mount's options make.
std::string MountData(const Mount& m) {
  std::string data;
  for (const std::string& opt : m.options)
    data += (data.empty() ? "" : ",") + opt;
  return data;
}

TEST_F(OverlaySnapshotterTest, ChainOf128LayersFitsTheMountDataPage) {
  // mount(2) copies one page of option data: the lowerdir= list of a deep
  // chain must stay under it with a typical root. This root has that
  // root's length when TMPDIR is /tmp; the sizes are also checked with the
  // root renamed to the typical one, whatever TMPDIR is.
  const std::string typical = "/var/lib/kiln/snapshots";
  std::string root = tmp_.path() + "/s";
  snapshotter_.reset();  // one open snapshotter at a time is enough here
  auto opened = OpenSnapshotter(root, SnapshotterKind::kOverlay);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Snapshotter& deep = **opened;
  constexpr int kLayers = 128;
  std::string parent;
  for (int i = 0; i < kLayers; ++i) {
    std::string name = "layer-" + std::to_string(i);
    auto dir = deep.Prepare(name + "-work", parent);
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    testing::WriteFile(*dir + "/f" + std::to_string(i), name);
    ASSERT_TRUE(deep.Commit(name, name + "-work").ok());
    parent = name;
  }
  auto view = deep.Mounts(parent);
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  ASSERT_EQ(view->size(), 1u);
  ASSERT_EQ((*view)[0].options.size(), 1u);
  const std::string& lowerdir = (*view)[0].options[0];
  ASSERT_TRUE(lowerdir.starts_with("lowerdir="));
  EXPECT_EQ(std::count(lowerdir.begin(), lowerdir.end(), ':'), kLayers - 1);
  EXPECT_LT(ReplaceAll(lowerdir, root, typical).size(), 4096u) << lowerdir;

  ASSERT_TRUE(deep.Prepare("rw", parent).ok());
  auto rw = deep.Mounts("rw");
  ASSERT_TRUE(rw.ok()) << rw.status().ToString();
  ASSERT_EQ(rw->size(), 1u);
  EXPECT_LT(ReplaceAll(MountData((*rw)[0]), root, typical).size(), 4096u);

  if (MountData((*rw)[0]).size() >= 4096) {
    GTEST_SKIP() << "TMPDIR makes the real root too long to mount the chain";
  }
  {
    ScopedMount merged(*view, tmp_.path() + "/merged");
    ASSERT_EQ(merged.error(), "");
    EXPECT_EQ(testing::ReadFile(merged.path() + "/f0"), "layer-0");
    EXPECT_EQ(testing::ReadFile(merged.path() + "/f127"), "layer-127");
    EXPECT_EQ(testing::DumpTree(merged.path()).size(), size_t{kLayers});
  }
  ScopedMount writable(*rw, tmp_.path() + "/rw");
  ASSERT_EQ(writable.error(), "");
  testing::WriteFile(writable.path() + "/top", "t");
  EXPECT_EQ(testing::ReadFile(writable.path() + "/f0"), "layer-0");
  EXPECT_EQ(testing::ReadFile(writable.path() + "/top"), "t");
}

TEST_F(OverlaySnapshotterTest, ReopenRestoresShortLinks) {
  testing::UnpackedTestImage unpacked;
  ASSERT_NO_FATAL_FAILURE(
      testing::UnpackThreeTestLayers(*snapshotter_, *content_, &unpacked));
  std::string links = tmp_.path() + "/snapshots/l";
  // A root whose links went missing (or predate them), and a stray link.
  fs::remove_all(links);
  snapshotter_.reset();
  fs::create_directories(links);
  fs::create_symlink("../snapshots/999/fs", links + "/rr");
  auto opened =
      OpenSnapshotter(tmp_.path() + "/snapshots", SnapshotterKind::kOverlay);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  snapshotter_ = std::move(*opened);
  EXPECT_FALSE(fs::is_symlink(links + "/rr")) << "stray link kept";
  auto mounts = snapshotter_->Mounts(unpacked.top);
  ASSERT_TRUE(mounts.ok()) << mounts.status().ToString();
  ScopedMount merged(*mounts, tmp_.path() + "/merged");
  ASSERT_EQ(merged.error(), "");
  EXPECT_EQ(testing::DumpTree(merged.path()), testing::ThreeTestLayersTree());
}

}  // namespace
}  // namespace kiln::solver
