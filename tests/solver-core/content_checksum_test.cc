// ContentChecksummer: what the digest covers, the incremental cache (reads
// counted), its persistence and its resistance to corrupted cache files.
#include "kiln/solver/content_checksum.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "support/test_util.h"

namespace kiln::solver {
namespace {

using testing::TempDir;
using testing::WriteFile;

// Sets the mtime of everything under `root` (not following links) well in
// the past, and waits out the racy window for ctimes.
void AgeTree(const std::string& root) {
  timespec times[2] = {{1600000000, 0}, {1600000000, 0}};
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    utimensat(AT_FDCWD, e.path().c_str(), times, AT_SYMLINK_NOFOLLOW);
  }
  usleep(150'000);
}

std::string Sum(ContentChecksummer& c, const std::string& root,
                const std::string& path, const ChecksumOptions& o = {}) {
  auto d = c.Checksum(root, path, o);
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.ok() ? d->str() : "";
}

class ContentChecksumTest : public ::testing::Test {
 protected:
  void SetUp() override {
    src_ = tmp_.path() + "/src";
    cache_ = tmp_.path() + "/cache";
    WriteFile(src_ + "/a/one.txt", "one");
    WriteFile(src_ + "/a/two.txt", "two");
    WriteFile(src_ + "/b/three.txt", "three");
    WriteFile(src_ + "/top.txt", "top");
    ASSERT_EQ(symlink("a/one.txt", (src_ + "/link").c_str()), 0);
    AgeTree(src_);
  }
  TempDir tmp_;
  std::string src_;
  std::string cache_;
};

TEST_F(ContentChecksumTest, CoversOwnersAndCapabilityAndUserXattrs) {
  ContentChecksummer c;
  const std::string file = src_ + "/a/one.txt";
  std::string before = Sum(c, src_, "/a");
  // A user.* xattr (where the filesystem has them) changes the digest; a
  // trusted.* one is not part of it.
  if (setxattr(file.c_str(), "user.kiln", "1", 1, 0) == 0) {
    std::string with_xattr = Sum(c, src_, "/a");
    EXPECT_NE(with_xattr, before);
    ASSERT_EQ(removexattr(file.c_str(), "user.kiln"), 0);
    EXPECT_EQ(Sum(c, src_, "/a"), before);
  }
  if (geteuid() != 0) GTEST_SKIP() << "chown needs root";
  ASSERT_EQ(lchown(file.c_str(), 1000, 1000), 0);
  EXPECT_NE(Sum(c, src_, "/a"), before);
  ContentChecksummer fresh;
  EXPECT_EQ(Sum(c, src_, "/b"), Sum(fresh, src_, "/b"));
  ASSERT_EQ(lchown(file.c_str(), 0, 0), 0);
  EXPECT_EQ(Sum(c, src_, "/a"), before);
}

TEST_F(ContentChecksumTest, CoversContentModeNamesAndLinkTargetsNotMtimes) {
  ContentChecksummer c;
  std::string root = Sum(c, src_, "");
  std::string a = Sum(c, src_, "a");
  ASSERT_FALSE(root.empty());
  EXPECT_EQ(Sum(c, src_, "."), root);
  EXPECT_EQ(Sum(c, src_, "/"), root);
  EXPECT_EQ(Sum(c, src_, "/a/"), a);
  EXPECT_NE(a, root);

  // A file's digest does not depend on its name; two equal files agree.
  WriteFile(src_ + "/b/copy.txt", "one");
  AgeTree(src_);
  EXPECT_EQ(Sum(c, src_, "b/copy.txt"), Sum(c, src_, "a/one.txt"));

  // mtime alone: no change.
  std::string before = Sum(c, src_, "a");
  timespec times[2] = {{1700000000, 5}, {1700000000, 5}};
  ASSERT_EQ(utimensat(AT_FDCWD, (src_ + "/a/one.txt").c_str(), times, 0), 0);
  usleep(150'000);
  EXPECT_EQ(Sum(c, src_, "a"), before);
  // Mode: change.
  ASSERT_EQ(chmod((src_ + "/a/one.txt").c_str(), 0755), 0);
  EXPECT_NE(Sum(c, src_, "a"), before);
  ASSERT_EQ(chmod((src_ + "/a/one.txt").c_str(), 0644), 0);
  EXPECT_EQ(Sum(c, src_, "a"), before);
  // Rename inside the directory: change.
  ASSERT_EQ(rename((src_ + "/a/two.txt").c_str(), (src_ + "/a/2.txt").c_str()),
            0);
  EXPECT_NE(Sum(c, src_, "a"), before);
  // Symlink target.
  std::string link = Sum(c, src_, "link");
  ASSERT_EQ(unlink((src_ + "/link").c_str()), 0);
  ASSERT_EQ(symlink("b/three.txt", (src_ + "/link").c_str()), 0);
  EXPECT_NE(Sum(c, src_, "link"), link);
}

TEST_F(ContentChecksumTest, ContentChangeDetectedWithSameSizeAndMtime) {
  ContentChecksummer c(cache_);
  std::string before = Sum(c, src_, "a/one.txt");
  EXPECT_EQ(Sum(c, src_, "a/one.txt"), before);
  EXPECT_EQ(c.stats().files_read, 1u);
  struct stat st {};
  ASSERT_EQ(stat((src_ + "/a/one.txt").c_str(), &st), 0);
  WriteFile(src_ + "/a/one.txt", "ONE");  // same size
  timespec times[2] = {st.st_atim, st.st_mtim};
  ASSERT_EQ(utimensat(AT_FDCWD, (src_ + "/a/one.txt").c_str(), times, 0), 0);
  // Same size and mtime, but the ctime moved: the cached hash is not used.
  EXPECT_NE(Sum(c, src_, "a/one.txt"), before);
  EXPECT_EQ(c.stats().files_read, 2u);
}

TEST_F(ContentChecksumTest, UnrelatedChangeKeepsOtherDigests) {
  ContentChecksummer c(cache_);
  std::string a = Sum(c, src_, "a");
  std::string one = Sum(c, src_, "a/one.txt");
  std::string b = Sum(c, src_, "b");
  std::string root = Sum(c, src_, "");
  WriteFile(src_ + "/b/three.txt", "changed");
  WriteFile(src_ + "/new.txt", "new");
  EXPECT_EQ(Sum(c, src_, "a"), a);
  EXPECT_EQ(Sum(c, src_, "a/one.txt"), one);
  EXPECT_NE(Sum(c, src_, "b"), b);
  EXPECT_NE(Sum(c, src_, ""), root);
}

TEST_F(ContentChecksumTest, NoOpRecheckOfTenThousandFilesReadsNothing) {
  std::string big = tmp_.path() + "/big";
  for (int d = 0; d < 100; ++d) {
    for (int f = 0; f < 100; ++f) {
      WriteFile(big + "/d" + std::to_string(d) + "/f" + std::to_string(f),
                "content " + std::to_string(d * 100 + f));
    }
  }
  AgeTree(big);
  std::string first;
  {
    ContentChecksummer c(cache_);
    first = Sum(c, big, "");
    EXPECT_EQ(c.stats().files_read, 10000u);
    EXPECT_EQ(c.stats().cache_writes, 1u);
    c.ResetStats();
    EXPECT_EQ(Sum(c, big, ""), first);  // in-memory cache
    EXPECT_EQ(c.stats().files_read, 0u);
    EXPECT_EQ(c.stats().cache_hits, 10000u);
    EXPECT_EQ(c.stats().cache_writes, 0u);  // nothing changed
  }
  // A new checksummer loads the persisted cache.
  ContentChecksummer c2(cache_);
  EXPECT_EQ(Sum(c2, big, ""), first);
  EXPECT_EQ(c2.stats().files_read, 0u);
  EXPECT_EQ(c2.stats().bytes_read, 0u);
  // One changed file: one read.
  WriteFile(big + "/d5/f5", "different");
  usleep(150'000);  // out of the racy window
  c2.ResetStats();
  EXPECT_NE(Sum(c2, big, ""), first);
  EXPECT_EQ(c2.stats().files_read, 1u);
}

TEST_F(ContentChecksumTest, CorruptedCacheIsIgnoredAndRebuilt) {
  std::string first;
  {
    ContentChecksummer c(cache_);
    first = Sum(c, src_, "");
  }
  auto files = testing::RunShell("ls " + cache_);
  ASSERT_EQ(files.exit_code, 0);
  std::string file =
      cache_ + "/" + files.output.substr(0, files.output.find('\n'));
  std::string good = testing::ReadFile(file);
  ASSERT_NE(good.find("kiln-contenthash-v2"), std::string::npos);
  // Poison a cached hash (as a bit flip would): the trailer no longer fits.
  std::string bad = good;
  size_t line = bad.find('\n') + 1;
  bad[line] = bad[line] == '0' ? '1' : '0';
  for (const std::string& broken : {bad, good.substr(0, good.size() / 2),
                                    std::string("garbage\n"), std::string()}) {
    WriteFile(file, broken);
    ContentChecksummer c(cache_);
    EXPECT_EQ(Sum(c, src_, ""), first);
    EXPECT_EQ(c.stats().files_read, 4u);
    EXPECT_EQ(c.stats().cache_writes, 1u);  // rebuilt
    EXPECT_EQ(testing::ReadFile(file), good);
  }
}

TEST_F(ContentChecksumTest, PatternsSelectEntries) {
  ContentChecksummer c;
  ChecksumOptions only_a;
  only_a.include_patterns = {"a"};
  ChecksumOptions no_b;
  no_b.exclude_patterns = {"b", "link", "top.txt"};
  std::string inc = Sum(c, src_, "", only_a);
  EXPECT_EQ(Sum(c, src_, "", no_b), inc);
  WriteFile(src_ + "/b/more.txt", "x");
  EXPECT_EQ(Sum(c, src_, "", only_a), inc);
  WriteFile(src_ + "/a/more.txt", "x");
  EXPECT_NE(Sum(c, src_, "", only_a), inc);
  // Exception re-includes below an excluded directory.
  ChecksumOptions keep;
  keep.exclude_patterns = {"*", "!b/three.txt"};
  std::string k = Sum(c, src_, "", keep);
  WriteFile(src_ + "/b/more.txt", "y");
  EXPECT_EQ(Sum(c, src_, "", keep), k);
  WriteFile(src_ + "/b/three.txt", "THREE");
  EXPECT_NE(Sum(c, src_, "", keep), k);
  ChecksumOptions bad;
  bad.include_patterns = {"["};
  EXPECT_EQ(c.Checksum(src_, "", bad).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ContentChecksumTest, LinksAndErrors) {
  ContentChecksummer c;
  ChecksumOptions follow;
  follow.follow_links = true;
  EXPECT_EQ(Sum(c, src_, "link", follow), Sum(c, src_, "a/one.txt"));
  EXPECT_NE(Sum(c, src_, "link"), Sum(c, src_, "a/one.txt"));
  // Symlinks in the middle of a path resolve inside the root.
  ASSERT_EQ(symlink("/a", (src_ + "/abs").c_str()), 0);
  EXPECT_EQ(Sum(c, src_, "abs/two.txt"), Sum(c, src_, "a/two.txt"));
  EXPECT_EQ(Sum(c, src_, "../../a"), Sum(c, src_, "a"));
  EXPECT_EQ(Sum(c, "/", src_ + "/a"), Sum(c, src_, "a"));
  ASSERT_EQ(symlink("loop", (src_ + "/loop").c_str()), 0);
  EXPECT_EQ(c.Checksum(src_, "loop", follow).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(c.Checksum(src_, "missing").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(c.Checksum(src_ + "/nope", "").status().code(),
            StatusCode::kNotFound);
}

}  // namespace
}  // namespace kiln::solver
