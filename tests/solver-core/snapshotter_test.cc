// The copy snapshotter and UnpackImage on it (no root needed): snapshot
// bookkeeping, persistence across reopen, real copies, and images of three
// layers unpacked into chains.
#include "kiln/solver/snapshotter.h"

#include <fcntl.h>
#include <grp.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "kiln/solver/content_store.h"
#include "kiln/solver/layer_unpack.h"
#include "layer_test_util.h"

namespace kiln::solver {
namespace {

using ::kiln::solver::testing::DumpTree;
using ::kiln::solver::testing::ReadFile;
using ::kiln::solver::testing::TempDir;
using ::kiln::solver::testing::WriteFile;
using Tree = std::map<std::string, std::string>;
namespace fs = std::filesystem;

class CopySnapshotterTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open() {
    auto opened = OpenSnapshotter(root(), SnapshotterKind::kCopy);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    snapshotter_ = std::move(*opened);
  }

  std::string root() const { return tmp_.path() + "/snapshots"; }

  // Prepares `key` on `parent`, lets `fill` write into it, commits as `name`.
  template <typename Fill>
  void MakeCommitted(const std::string& name, const std::string& parent,
                     Fill fill) {
    auto dir = snapshotter_->Prepare("tmp-" + name, parent);
    ASSERT_TRUE(dir.ok()) << dir.status().ToString();
    fill(*dir);
    Status s = snapshotter_->Commit(name, "tmp-" + name);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  std::vector<std::string> Names() {
    std::vector<std::string> out;
    auto list = snapshotter_->List();
    EXPECT_TRUE(list.ok());
    for (const SnapshotInfo& info : *list) out.push_back(info.name);
    return out;
  }

  TempDir tmp_;
  std::unique_ptr<Snapshotter> snapshotter_;
};

TEST_F(CopySnapshotterTest, PreparesCommitsStatsListsAndRemoves) {
  EXPECT_EQ(snapshotter_->kind(), SnapshotterKind::kCopy);
  MakeCommitted("base", "",
                [](const std::string& dir) { WriteFile(dir + "/a", "a"); });
  auto active = snapshotter_->Prepare("work", "base");
  ASSERT_TRUE(active.ok()) << active.status().ToString();
  EXPECT_EQ(ReadFile(*active + "/a"), "a");

  auto base = snapshotter_->Stat("base");
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(base->kind, SnapshotKind::kCommitted);
  EXPECT_EQ(base->parent, "");
  auto work = snapshotter_->Stat("work");
  ASSERT_TRUE(work.ok());
  EXPECT_EQ(work->kind, SnapshotKind::kActive);
  EXPECT_EQ(work->parent, "base");
  EXPECT_EQ(Names(), (std::vector<std::string>{"base", "work"}));

  EXPECT_EQ(snapshotter_->Remove("base").code(),
            StatusCode::kFailedPrecondition);
  ASSERT_TRUE(snapshotter_->Remove("work").ok());
  EXPECT_FALSE(fs::exists(*active));
  ASSERT_TRUE(snapshotter_->Remove("base").ok());
  EXPECT_TRUE(Names().empty());
  EXPECT_TRUE(fs::is_empty(root() + "/snapshots"));
}

TEST_F(CopySnapshotterTest, RejectsInvalidOperations) {
  MakeCommitted("base", "", [](const std::string&) {});
  ASSERT_TRUE(snapshotter_->Prepare("active", "base").ok());
  EXPECT_EQ(snapshotter_->Prepare("active", "").status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(snapshotter_->Prepare("x", "missing").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(snapshotter_->Prepare("x", "active").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(snapshotter_->Prepare("", "").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(snapshotter_->Prepare("bad\nname", "").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(snapshotter_->Commit("base", "active").code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(snapshotter_->Stat("active")->kind, SnapshotKind::kActive)
      << "left as it was";
  EXPECT_EQ(snapshotter_->Commit("c", "base").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(snapshotter_->Commit("c", "missing").code(), StatusCode::kNotFound);
  EXPECT_EQ(snapshotter_->Stat("missing").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(snapshotter_->Remove("missing").code(), StatusCode::kNotFound);
  EXPECT_EQ(snapshotter_->Mounts("missing").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(snapshotter_->View("v", "").status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(CopySnapshotterTest, PrepareMakesARealCopyWithMetadata) {
  MakeCommitted("base", "", [](const std::string& dir) {
    WriteFile(dir + "/data/file", "original");
    ASSERT_EQ(chmod((dir + "/data/file").c_str(), 04750), 0);
    ASSERT_EQ(link((dir + "/data/file").c_str(), (dir + "/data/link").c_str()),
              0);
    fs::create_symlink("data/file", dir + "/sym");
    ASSERT_EQ(mkfifo((dir + "/fifo").c_str(), 0600), 0);
    ASSERT_EQ(setxattr((dir + "/data/file").c_str(), "user.k", "v", 1, 0), 0);
    fs::create_directories(dir + "/ro/inner");
    WriteFile(dir + "/ro/inner/f", "f");
    ASSERT_EQ(chmod((dir + "/ro").c_str(), 0555), 0);
    timespec times[2] = {{1500000000, 0}, {1500000000, 0}};
    ASSERT_EQ(utimensat(AT_FDCWD, (dir + "/data").c_str(), times, 0), 0);
    ASSERT_EQ(utimensat(AT_FDCWD, (dir + "/data/file").c_str(), times, 0), 0);
  });
  auto base_mounts = snapshotter_->Mounts("base");
  ASSERT_TRUE(base_mounts.ok());
  std::string base_dir = (*base_mounts)[0].source;
  auto child = snapshotter_->Prepare("child", "base");
  ASSERT_TRUE(child.ok()) << child.status().ToString();

  EXPECT_EQ(DumpTree(*child, true), DumpTree(base_dir, true));
  EXPECT_EQ(DumpTree(*child)["data/file"], "f 4750 original");
  EXPECT_EQ(DumpTree(*child)["ro"], "d 0555");
  EXPECT_EQ(testing::GetXattr(*child + "/data/file", "user.k"), "v");
  struct stat file {
  }, link{}, parent_file{};
  ASSERT_EQ(lstat((*child + "/data/file").c_str(), &file), 0);
  ASSERT_EQ(lstat((*child + "/data/link").c_str(), &link), 0);
  ASSERT_EQ(lstat((base_dir + "/data/file").c_str(), &parent_file), 0);
  EXPECT_EQ(file.st_ino, link.st_ino) << "hardlinks within the tree are kept";
  EXPECT_NE(file.st_ino, parent_file.st_ino) << "not shared with the parent";

  WriteFile(*child + "/data/link", "changed in child");
  EXPECT_EQ(ReadFile(*child + "/data/file"), "changed in child");
  EXPECT_EQ(ReadFile(base_dir + "/data/file"), "original");
}

TEST_F(CopySnapshotterTest, MountsAreBindMounts) {
  MakeCommitted("base", "", [](const std::string&) {});
  auto active = snapshotter_->Prepare("active", "base");
  ASSERT_TRUE(active.ok());
  auto rw = snapshotter_->Mounts("active");
  ASSERT_TRUE(rw.ok());
  EXPECT_EQ(*rw, (std::vector<Mount>{{"bind", *active, {"rbind", "rw"}}}));
  auto base = snapshotter_->Mounts("base");
  ASSERT_TRUE(base.ok());
  ASSERT_EQ(base->size(), 1u);
  EXPECT_EQ((*base)[0].options, (std::vector<std::string>{"rbind", "ro"}));
  auto view = snapshotter_->View("view", "base");
  ASSERT_TRUE(view.ok()) << view.status().ToString();
  EXPECT_EQ(*view, *base) << "a view of a committed tree needs no copy";
  EXPECT_EQ(snapshotter_->Stat("view")->kind, SnapshotKind::kView);
  EXPECT_EQ(snapshotter_->Remove("base").code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(snapshotter_->Remove("view").ok());
}

TEST_F(CopySnapshotterTest, PersistsAcrossReopenAndCleansLeftovers) {
  MakeCommitted("base", "",
                [](const std::string& dir) { WriteFile(dir + "/a", "a"); });
  ASSERT_TRUE(snapshotter_->Prepare("active", "base").ok());
  ASSERT_TRUE(snapshotter_->View("view", "base").ok());

  EXPECT_EQ(OpenSnapshotter(root(), SnapshotterKind::kCopy).status().code(),
            StatusCode::kFailedPrecondition)
      << "a root is owned by one snapshotter at a time";
  snapshotter_.reset();
  // What a crash can leave: a snapshot dir without a record, a temp file.
  fs::create_directories(root() + "/snapshots/999/fs/x");
  WriteFile(root() + "/metadata.json.tmp-0123", "{half");

  EXPECT_EQ(OpenSnapshotter(root(), SnapshotterKind::kOverlay).status().code(),
            StatusCode::kFailedPrecondition);
  auto reopened = OpenSnapshotter(root(), SnapshotterKind::kAuto);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  snapshotter_ = std::move(*reopened);
  EXPECT_EQ(snapshotter_->kind(), SnapshotterKind::kCopy)
      << "auto keeps the recorded kind";
  EXPECT_EQ(Names(), (std::vector<std::string>{"active", "base", "view"}));
  EXPECT_EQ(snapshotter_->Stat("active")->parent, "base");
  EXPECT_EQ(snapshotter_->Stat("view")->kind, SnapshotKind::kView);
  EXPECT_FALSE(fs::exists(root() + "/snapshots/999"));
  EXPECT_FALSE(fs::exists(root() + "/metadata.json.tmp-0123"));
  auto mounts = snapshotter_->Mounts("base");
  ASSERT_TRUE(mounts.ok());
  EXPECT_EQ(ReadFile((*mounts)[0].source + "/a"), "a");
  // New ids do not collide with old ones.
  auto fresh = snapshotter_->Prepare("fresh", "");
  ASSERT_TRUE(fresh.ok());
  EXPECT_TRUE(fs::is_empty(*fresh));
}

TEST_F(CopySnapshotterTest, CorruptMetadataIsDataLoss) {
  snapshotter_.reset();
  WriteFile(root() + "/metadata.json", "{\"version\":1,\"kind\":\"copy\"");
  EXPECT_EQ(OpenSnapshotter(root(), SnapshotterKind::kCopy).status().code(),
            StatusCode::kDataLoss);
  WriteFile(root() + "/metadata.json",
            R"({"version":1,"kind":"copy","next_id":3,"snapshots":[)"
            R"({"name":"a","id":1,"parent":"ghost","kind":"committed"}]})");
  EXPECT_EQ(OpenSnapshotter(root(), SnapshotterKind::kCopy).status().code(),
            StatusCode::kDataLoss);
}

TEST_F(CopySnapshotterTest, IsSafeUnderConcurrentUse) {
  MakeCommitted("base", "",
                [](const std::string& dir) { WriteFile(dir + "/a", "a"); });
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 8; ++i) {
        // (GCC 12 -O3 misreports "k" + std::to_string(t) under -Wrestrict)
        char buf[32];
        std::snprintf(buf, sizeof(buf), "k%d-%d", t, i);
        std::string key = buf;
        auto dir = snapshotter_->Prepare(key, "base");
        if (!dir.ok()) {
          ++failures;
          continue;
        }
        WriteFile(*dir + "/" + key, key);
        if (!snapshotter_->Commit("c-" + key, key).ok()) ++failures;
        // Everyone races for one shared name: exactly one wins.
        auto shared = snapshotter_->Prepare("shared-" + key, "base");
        if (!shared.ok() ||
            (!snapshotter_->Commit("shared", "shared-" + key).ok() &&
             !snapshotter_->Remove("shared-" + key).ok())) {
          ++failures;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Names().size(), 1u + 48u + 1u);
  snapshotter_.reset();
  Open();
  EXPECT_EQ(Names().size(), 50u) << "what was recorded survives a reopen";
  auto mounts = snapshotter_->Mounts("c-k3-7");
  ASSERT_TRUE(mounts.ok());
  EXPECT_EQ(ReadFile((*mounts)[0].source + "/k3-7"), "k3-7");
}

// The file mode (07777 bits) at `path`, or -1.
int ModeOf(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 07777)
                                       : -1;
}

// Run unprivileged (see the test below) in `dir`, which we own: a committed
// tree with a mode 0000 file and directories the owner cannot list or
// search is copied by Prepare, both trees keep their modes, and both can be
// removed. "" when all went well, else what did not.
std::string CopyUnreadableScenario(const std::string& dir) {
  auto opened = OpenSnapshotter(dir + "/snapshots", SnapshotterKind::kCopy);
  if (!opened.ok()) return "open: " + opened.status().ToString();
  Snapshotter& snapshotter = **opened;
  auto work = snapshotter.Prepare("base-work", "");
  if (!work.ok()) return "prepare base: " + work.status().ToString();
  const std::map<std::string, std::string> files = {{"etc/shadow", "root:!:"},
                                                    {"locked/inner", "i"},
                                                    {"locked/sub/deep", "d"},
                                                    {"listonly/n", "n"},
                                                    {"searchonly/w", "w"}};
  for (const auto& [rel, data] : files) WriteFile(*work + "/" + rel, data);
  // Innermost first: a 0000 directory refuses chmod below it.
  const std::vector<std::pair<std::string, mode_t>> modes = {
      {"etc/shadow", 0},
      {"locked/sub", 0},
      {"locked", 0},
      {"listonly", 0600},     // r without x: lists, cannot reach children
      {"searchonly", 0300}};  // x without r: cannot list
  for (const auto& [rel, mode] : modes) {
    if (chmod((*work + "/" + rel).c_str(), mode) != 0)
      return "chmod " + rel + ": " + std::strerror(errno);
  }
  // The kernel really refuses us: without this the test proves nothing.
  int probe = open((*work + "/etc/shadow").c_str(), O_RDONLY | O_CLOEXEC);
  if (probe >= 0 || errno != EACCES) {
    if (probe >= 0) close(probe);
    return "a mode 0000 file was readable: not unprivileged";
  }
  Status committed = snapshotter.Commit("base", "base-work");
  if (!committed.ok()) return "commit: " + committed.ToString();
  auto base_mounts = snapshotter.Mounts("base");
  if (!base_mounts.ok()) return "mounts: " + base_mounts.status().ToString();
  std::string base = (*base_mounts)[0].source;

  auto child = snapshotter.Prepare("child", "base");
  if (!child.ok()) return "prepare on the parent: " + child.status().ToString();
  for (const auto& [rel, mode] : modes) {
    if (rel == "locked/sub") continue;  // below a 0000 directory
    for (const std::string& tree : {base, *child}) {
      int got = ModeOf(tree + "/" + rel);
      if (got != static_cast<int>(mode)) {
        return tree + "/" + rel + " has mode " + std::to_string(got) +
               ", want " + std::to_string(mode);
      }
    }
  }
  // Open the copy up to read what it holds.
  for (const char* rel : {"locked", "locked/sub", "listonly", "searchonly"})
    chmod((*child + "/" + rel).c_str(), 0700);
  chmod((*child + "/etc/shadow").c_str(), 0600);
  for (const auto& [rel, data] : files) {
    if (ReadFile(*child + "/" + rel) != data) return rel + " was not copied";
  }
  // The source keeps its unreadable modes, and removal copes with them.
  if (ModeOf(base + "/locked") != 0) return "source locked/ was left open";
  Status removed = snapshotter.Remove("child");
  if (removed.ok()) removed = snapshotter.Remove("base");
  if (!removed.ok()) return "remove: " + removed.ToString();
  if (fs::exists(base)) return "the parent's tree survived its removal";
  return "";
}

TEST(CopySnapshotterUnprivilegedTest, CopiesAndRemovesUnreadableTrees) {
  // Root reads everything, so as root the scenario runs as nobody (uid
  // 65534) in a forked child, in a directory that user owns.
  TempDir tmp;
  std::string dir = tmp.path() + "/user";
  ASSERT_EQ(mkdir(dir.c_str(), 0700), 0);
  bool root = geteuid() == 0;
  if (root) {
    ASSERT_EQ(chmod(tmp.path().c_str(), 0755), 0);
    ASSERT_EQ(chown(dir.c_str(), 65534, 65534), 0);
  }
  int pipe_fds[2];
  ASSERT_EQ(pipe2(pipe_fds, O_CLOEXEC), 0);
  pid_t pid = testing::ForkChild([&] {
    close(pipe_fds[0]);
    std::string error;
    if (root && (setgroups(0, nullptr) != 0 || setgid(65534) != 0 ||
                 setuid(65534) != 0)) {
      error = std::string("dropping to uid 65534: ") + std::strerror(errno);
    } else {
      error = CopyUnreadableScenario(dir);
    }
    if (!error.empty() && write(pipe_fds[1], error.data(), error.size()) < 0)
      return 2;
    return error.empty() ? 0 : 1;
  });
  close(pipe_fds[1]);
  std::string message;
  char buf[512];
  for (ssize_t n; (n = read(pipe_fds[0], buf, sizeof(buf))) > 0;)
    message.append(buf, static_cast<size_t>(n));
  close(pipe_fds[0]);
  EXPECT_EQ(testing::WaitExitCode(pid), 0) << message;
  EXPECT_EQ(message, "");
}

class UnpackImageCopyTest : public CopySnapshotterTest {
 protected:
  void SetUp() override {
    CopySnapshotterTest::SetUp();
    auto store = ContentStore::Open(tmp_.path() + "/content");
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    content_ = std::move(*store);
  }

  std::string TreeOf(const std::string& name) {
    auto mounts = snapshotter_->Mounts(name);
    EXPECT_TRUE(mounts.ok()) << mounts.status().ToString();
    return mounts.ok() ? (*mounts)[0].source : "";
  }

  std::unique_ptr<ContentStore> content_;
};

TEST_F(UnpackImageCopyTest, UnpacksAChainOfThreeLayersWithDeletes) {
  testing::UnpackedTestImage unpacked;
  ASSERT_NO_FATAL_FAILURE(
      testing::UnpackThreeTestLayers(*snapshotter_, *content_, &unpacked));
  const std::string& top = unpacked.top;
  const testing::TestImage& image = unpacked.image;
  std::vector<Digest> chain = ChainIds(image.config.diff_ids);
  std::vector<std::string> names = Names();
  std::vector<std::string> want = {chain[0].str(), chain[1].str(),
                                   chain[2].str()};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(names, want);
  EXPECT_EQ(snapshotter_->Stat(chain[2].str())->parent, chain[1].str());
  EXPECT_EQ(snapshotter_->Stat(chain[1].str())->parent, chain[0].str());
  EXPECT_EQ(DumpTree(TreeOf(top)), testing::ThreeTestLayersTree());
  // The lower snapshots stay as their layers left them.
  EXPECT_EQ(ReadFile(TreeOf(chain[0].str()) + "/etc/passwd"), "root:x:0:0");
  EXPECT_EQ(ReadFile(TreeOf(chain[1].str()) + "/etc/passwd"),
            "root:x:0:0\nuser");

  // Unpacking again reuses every snapshot.
  auto dir_before = TreeOf(top);
  auto again =
      UnpackImage(*snapshotter_, *content_, image.manifest, image.config);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(*again, top);
  EXPECT_EQ(Names(), want);
  EXPECT_EQ(TreeOf(top), dir_before);
}

TEST_F(UnpackImageCopyTest, DiffIdMismatchIsDataLossNamingTheLayer) {
  auto image = testing::MakeTestImage(*content_, testing::ThreeTestLayers());
  image.config.diff_ids[1] = Digest::FromBytes("not the layer");
  auto top =
      UnpackImage(*snapshotter_, *content_, image.manifest, image.config);
  ASSERT_EQ(top.status().code(), StatusCode::kDataLoss)
      << top.status().ToString();
  EXPECT_NE(top.status().message().find("layer 1"), std::string::npos)
      << top.status().message();
  EXPECT_NE(top.status().message().find(image.manifest.layers[1].digest.str()),
            std::string::npos);
  // Only the good first layer is committed; no half-applied snapshot stays.
  EXPECT_EQ(Names(),
            (std::vector<std::string>{image.config.diff_ids[0].str()}));
  EXPECT_EQ(std::distance(fs::directory_iterator(root() + "/snapshots"),
                          fs::directory_iterator()),
            1);
}

TEST_F(UnpackImageCopyTest, RejectsInconsistentImages) {
  auto image = testing::MakeTestImage(*content_, testing::ThreeTestLayers());
  auto short_config = image;
  short_config.config.diff_ids.pop_back();
  EXPECT_EQ(UnpackImage(*snapshotter_, *content_, short_config.manifest,
                        short_config.config)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  auto missing = image;
  ASSERT_TRUE(content_->Delete(image.manifest.layers[2].digest).ok());
  auto top =
      UnpackImage(*snapshotter_, *content_, missing.manifest, missing.config);
  EXPECT_EQ(top.status().code(), StatusCode::kNotFound)
      << top.status().ToString();
  EXPECT_EQ(Names().size(), 2u);
  auto empty = UnpackImage(*snapshotter_, *content_, oci::Manifest{},
                           oci::ImageConfig{});
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
}

TEST_F(UnpackImageCopyTest, ConcurrentUnpacksOfOneImageAgree) {
  auto image = testing::MakeTestImage(*content_, testing::ThreeTestLayers());
  std::vector<Result<std::string>> results(
      4, Result<std::string>(InternalError("not run")));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&, i] {
      results[i] =
          UnpackImage(*snapshotter_, *content_, image.manifest, image.config);
    });
  }
  for (auto& th : threads) th.join();
  std::string top = ChainIds(image.config.diff_ids)[2].str();
  for (const auto& r : results) {
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(*r, top);
  }
  EXPECT_EQ(Names().size(), 3u) << "no extract-* snapshot is left behind";
  EXPECT_EQ(std::distance(fs::directory_iterator(root() + "/snapshots"),
                          fs::directory_iterator()),
            3);
  EXPECT_EQ(DumpTree(TreeOf(top)), testing::ThreeTestLayersTree());
}

}  // namespace
}  // namespace kiln::solver
