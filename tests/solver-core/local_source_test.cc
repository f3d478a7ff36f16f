// SyncLocal: copying with metadata, patterns, follow paths, and the
// incremental second sync (unchanged files not copied, removed and newly
// excluded files deleted).
#include "kiln/solver/local_source.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <string>

#include "support/test_util.h"

namespace kiln::solver {
namespace {

using testing::DumpTree;
using testing::TempDir;
using testing::WriteFile;

LocalSyncStats Sync(const std::string& src, const std::string& dest,
                    const LocalSyncOptions& o = {}) {
  auto r = SyncLocal(src, dest, o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : LocalSyncStats{};
}

std::string Keys(const std::map<std::string, std::string>& tree) {
  std::string out;
  for (const auto& [k, v] : tree) out += k + " ";
  return out;
}

class LocalSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = tmp_.path() + "/src";
    dest_ = tmp_.path() + "/dest";
    WriteFile(src_ + "/Dockerfile", "FROM scratch\n");
    WriteFile(src_ + "/app/main.c", "int main() { return 0; }\n");
    WriteFile(src_ + "/app/util.c", "void util() {}\n");
    WriteFile(src_ + "/app/README.md", "readme\n");
    WriteFile(src_ + "/docs/guide.md", "guide\n");
    WriteFile(src_ + "/docs/keep/important.md", "important\n");
    WriteFile(src_ + "/bin/run.sh", "#!/bin/sh\n");
    ASSERT_EQ(chmod((src_ + "/bin/run.sh").c_str(), 04755), 0);
    ASSERT_EQ(chmod((src_ + "/docs").c_str(), 0750), 0);
    ASSERT_EQ(symlink("app/main.c", (src_ + "/main-link").c_str()), 0);
    ASSERT_EQ(symlink("/nonexistent", (src_ + "/dangling").c_str()), 0);
    ASSERT_EQ(link((src_ + "/app/util.c").c_str(), (src_ + "/hard.c").c_str()),
              0);
    ASSERT_EQ(mkfifo((src_ + "/fifo").c_str(), 0640), 0);
    timespec times[2] = {{1600000000, 123456789}, {1600000000, 123456789}};
    ASSERT_EQ(utimensat(AT_FDCWD, (src_ + "/app/main.c").c_str(), times, 0), 0);
    ASSERT_EQ(utimensat(AT_FDCWD, (src_ + "/docs").c_str(), times, 0), 0);
  }
  TempDir tmp_;
  std::string src_;
  std::string dest_;
};

TEST_F(LocalSourceTest, CopiesEverythingWithMetadata) {
  LocalSyncStats s = Sync(src_, dest_);
  EXPECT_EQ(DumpTree(dest_, /*times=*/true), DumpTree(src_, /*times=*/true));
  EXPECT_EQ(s.files_copied, 11u);  // 8 files, 2 symlinks, 1 fifo
  EXPECT_EQ(s.files_unchanged, 0u);
  EXPECT_EQ(s.dirs, 4u);
  EXPECT_GT(s.bytes_copied, 60u);
  struct stat a {
  }, b{};
  ASSERT_EQ(stat((dest_ + "/app/main.c").c_str(), &a), 0);
  EXPECT_EQ(a.st_mtim.tv_nsec, 123456789);
  ASSERT_EQ(stat((dest_ + "/bin/run.sh").c_str(), &a), 0);
  EXPECT_EQ(a.st_mode & 07777, 04755u);
  ASSERT_EQ(stat((dest_ + "/docs").c_str(), &a), 0);
  EXPECT_EQ(a.st_mtim.tv_sec, 1600000000);
  EXPECT_EQ(a.st_mode & 07777, 0750u);
  // Hard links become copies.
  ASSERT_EQ(stat((dest_ + "/hard.c").c_str(), &a), 0);
  ASSERT_EQ(stat((dest_ + "/app/util.c").c_str(), &b), 0);
  EXPECT_NE(a.st_ino, b.st_ino);
  EXPECT_EQ(testing::ReadFile(dest_ + "/hard.c"), "void util() {}\n");
}

TEST_F(LocalSourceTest, SecondSyncIsIncremental) {
  Sync(src_, dest_);
  LocalSyncStats noop = Sync(src_, dest_);
  EXPECT_EQ(noop.files_copied, 0u);
  EXPECT_EQ(noop.bytes_copied, 0u);
  EXPECT_EQ(noop.files_unchanged, 11u);
  EXPECT_EQ(noop.files_deleted, 0u);

  WriteFile(src_ + "/app/util.c", "void util() { changed(); }\n");
  ASSERT_EQ(unlink((src_ + "/app/README.md").c_str()), 0);
  ASSERT_EQ(unlink((src_ + "/main-link").c_str()), 0);
  ASSERT_EQ(symlink("app/util.c", (src_ + "/main-link").c_str()), 0);
  ASSERT_EQ(chmod((src_ + "/Dockerfile").c_str(), 0600), 0);
  // A file replaced by a directory.
  ASSERT_EQ(unlink((src_ + "/hard.c").c_str()), 0);
  WriteFile(src_ + "/hard.c/inner", "x");
  // Something in dest that the source never had.
  WriteFile(dest_ + "/stray/file", "stray");
  LocalSyncStats s = Sync(src_, dest_);
  EXPECT_EQ(DumpTree(dest_, true), DumpTree(src_, true));
  EXPECT_EQ(s.files_copied, 4u);  // util.c, main-link, Dockerfile, hard.c/inner
  EXPECT_EQ(s.bytes_copied,
            std::string("void util() { changed(); }\n").size() + 13 + 1);
  EXPECT_EQ(s.files_deleted, 3u);  // README.md, hard.c, stray/file
  EXPECT_EQ(s.files_unchanged, 6u);
}

TEST_F(LocalSourceTest, ExcludePatternsWithExceptions) {
  Sync(src_, dest_);
  LocalSyncOptions o;
  o.exclude_patterns = {"**/*.md", "docs", "!docs/keep/*.md", "fifo",
                        "dangling"};
  LocalSyncStats s = Sync(src_, dest_, o);
  EXPECT_EQ(Keys(DumpTree(dest_)),
            "Dockerfile app app/main.c app/util.c bin bin/run.sh docs "
            "docs/keep docs/keep/important.md hard.c main-link ");
  EXPECT_EQ(s.files_deleted, 4u);  // README.md, guide.md, fifo, dangling
  EXPECT_EQ(s.files_copied, 0u);
}

TEST_F(LocalSourceTest, ExceptionInsideExcludedDirectory) {
  LocalSyncOptions o;
  o.exclude_patterns = {"docs", "!docs/keep/important.md"};
  Sync(src_, dest_, o);
  auto tree = DumpTree(dest_);
  EXPECT_EQ(tree.count("docs/guide.md"), 0u);
  EXPECT_EQ(tree["docs/keep/important.md"], "f 0644 important\n");
  EXPECT_EQ(tree["docs"], "d 0750");
}

TEST_F(LocalSourceTest, IncludePatternsAndFollowPaths) {
  LocalSyncOptions o;
  o.include_patterns = {"app/*.c"};
  Sync(src_, dest_, o);
  EXPECT_EQ(Keys(DumpTree(dest_)), "app app/main.c app/util.c ");

  // Follow paths: the symlink and what it points at, nothing else.
  ASSERT_EQ(
      symlink("docs/keep/important.md", (src_ + "/Dockerfile.link").c_str()),
      0);
  LocalSyncOptions f;
  f.follow_paths = {"Dockerfile.link"};
  LocalSyncStats s = Sync(src_, dest_, f);
  EXPECT_EQ(Keys(DumpTree(dest_)),
            "Dockerfile.link docs docs/keep docs/keep/important.md ");
  EXPECT_EQ(s.files_deleted, 2u);
  // Through a symlinked directory too.
  ASSERT_EQ(symlink("app", (src_ + "/applink").c_str()), 0);
  f.follow_paths = {"applink/main.c"};
  Sync(src_, dest_, f);
  EXPECT_EQ(Keys(DumpTree(dest_)), "app app/main.c applink ");
}

TEST_F(LocalSourceTest, StateFileCatchesEditsThatKeepSizeAndMtime) {
  LocalSyncOptions o;
  o.state_file = tmp_.path() + "/dest.state";
  EXPECT_EQ(Sync(src_, dest_, o).files_copied, 11u);
  EXPECT_EQ(Sync(src_, dest_, o).files_unchanged, 11u);
  // Same size, mtime put back: only the source ctime (and inode) tell.
  std::string path = src_ + "/app/main.c";
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  WriteFile(path, "int main() { return 1; }\n");
  timespec times[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  // Without the state file the edit goes unnoticed (metadata only)...
  std::string plain = tmp_.path() + "/plain";
  Sync(src_, plain);
  WriteFile(path, "int main() { return 2; }\n");
  ASSERT_EQ(utimensat(AT_FDCWD, path.c_str(), times, 0), 0);
  EXPECT_EQ(Sync(src_, plain).files_copied, 0u);
  EXPECT_EQ(testing::ReadFile(plain + "/app/main.c"),
            "int main() { return 1; }\n");
  // ...with it, the file is copied again.
  LocalSyncStats s = Sync(src_, dest_, o);
  EXPECT_EQ(s.files_copied, 1u);
  EXPECT_EQ(testing::ReadFile(dest_ + "/app/main.c"),
            "int main() { return 2; }\n");
  EXPECT_EQ(Sync(src_, dest_, o).files_copied, 0u);
  // A corrupted state file costs one full copy, never a stale file.
  WriteFile(o.state_file, "kiln-contenthash-v2\nbroken");
  EXPECT_EQ(Sync(src_, dest_, o).files_copied, 8u);  // regular files only
  EXPECT_EQ(DumpTree(dest_, true), DumpTree(src_, true));
  EXPECT_EQ(Sync(src_, dest_, o).files_copied, 0u);
}

TEST_F(LocalSourceTest, Errors) {
  EXPECT_EQ(SyncLocal(src_ + "/missing", dest_).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(SyncLocal(src_ + "/Dockerfile", dest_).status().code(),
            StatusCode::kFailedPrecondition);
  LocalSyncOptions o;
  o.exclude_patterns = {"[a-"};
  EXPECT_EQ(SyncLocal(src_, dest_, o).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::solver
