// Unit tests for the FileOp copy action (kiln/solver/file_op.h): one or
// more per option, checked on the resulting trees (DumpTree: modes,
// contents, link targets, mtimes) and error messages. No root needed.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "file_op_test_util.h"
#include "kiln/solver/file_op.h"
#include "support/test_util.h"

namespace kiln::solver::file_op_test {
namespace {

TEST_F(FileOpTest, CopyFileToNewPathExistingDirAndTrailingSlash) {
  Src("a.txt", "A", 0640);
  ASSERT_EQ(mkdir((dst_.path() + "/existing").c_str(), 0755), 0);
  ASSERT_TRUE(Apply(Copy("/a.txt", "/renamed")).ok());
  ASSERT_TRUE(Apply(Copy("/a.txt", "/existing")).ok());
  ASSERT_TRUE(Apply(Copy("a.txt", "/app/")).ok());  // created: parent exists
  EXPECT_EQ(Dst(), (Tree{{"renamed", "f 0640 A"},
                         {"existing", "d 0755"},
                         {"existing/a.txt", "f 0640 A"},
                         {"app", "d 0755"},
                         {"app/a.txt", "f 0640 A"}}));
}

TEST_F(FileOpTest, CopyMissingSourceAndDestParentErrors) {
  Status s = Apply(Copy("/src/a.txt", "/app/"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(),
            "copy /src/a.txt -> /app/: /src/a.txt: no such file or directory");
  Src("a.txt", "A");
  s = Apply(Copy("/a.txt", "/x/y/z"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(),
            "copy /a.txt -> /x/y/z: /x/y: no such file or directory");
  auto a = Copy("/a.txt", "/x/y/z");
  a.mutable_copy()->set_createdestpath(true);
  ASSERT_TRUE(Apply(a).ok());
  EXPECT_EQ(Dst(),
            (Tree{{"x", "d 0755"}, {"x/y", "d 0755"}, {"x/y/z", "f 0644 A"}}));
}

TEST_F(FileOpTest, CopyDirectoryVersusDirCopyContents) {
  Src("dir/f", "F");
  Src("dir/sub/g", "G", 0600);
  ASSERT_EQ(chmod((src_.path() + "/dir").c_str(), 0750), 0);
  ASSERT_TRUE(Apply(Copy("/dir", "/new")).ok());  // dest missing: becomes it
  ASSERT_EQ(mkdir((dst_.path() + "/into").c_str(), 0700), 0);
  ASSERT_TRUE(Apply(Copy("/dir", "/into")).ok());  // nested as into/dir
  auto a = Copy("/dir", "/into");
  a.mutable_copy()->set_dircopycontents(true);
  ASSERT_TRUE(Apply(a).ok());  // merged into into/
  const Tree want = {{"new", "d 0750"},
                     {"new/f", "f 0644 F"},
                     {"new/sub", "d 0755"},
                     {"new/sub/g", "f 0600 G"},
                     {"into", "d 0700"},
                     {"into/dir", "d 0750"},
                     {"into/dir/f", "f 0644 F"},
                     {"into/dir/sub", "d 0755"},
                     {"into/dir/sub/g", "f 0600 G"},
                     {"into/f", "f 0644 F"},
                     {"into/sub", "d 0755"},
                     {"into/sub/g", "f 0600 G"}};
  EXPECT_EQ(Dst(), want);
}

TEST_F(FileOpTest, CopyWildcards) {
  Src("a.txt", "A");
  Src("b.txt", "B");
  Src("c.md", "C");
  Src("d/e.txt", "E");
  auto a = Copy("/[a-b].txt", "/out/");
  a.mutable_copy()->set_allowwildcard(true);
  ASSERT_TRUE(Apply(a).ok());
  a = Copy("/*/*.txt", "/out2/");
  a.mutable_copy()->set_allowwildcard(true);
  ASSERT_TRUE(Apply(a).ok());
  EXPECT_EQ(Dst(), (Tree{{"out", "d 0755"},
                         {"out/a.txt", "f 0644 A"},
                         {"out/b.txt", "f 0644 B"},
                         {"out2", "d 0755"},
                         {"out2/e.txt", "f 0644 E"}}));
  a = Copy("/*.none", "/out/");
  a.mutable_copy()->set_allowwildcard(true);
  Status s = Apply(a);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "copy /*.none -> /out/: /*.none: no matches found");
  a.mutable_copy()->set_allowemptywildcard(true);
  EXPECT_TRUE(Apply(a).ok());
  a = Copy("/[a", "/out/");
  a.mutable_copy()->set_allowwildcard(true);
  EXPECT_EQ(Apply(a).code(), StatusCode::kInvalidArgument);
  // Without allowWildcard, "*" is a literal name.
  Src("lit*", "L");
  ASSERT_TRUE(Apply(Copy("/lit*", "/lit")).ok());
  EXPECT_EQ(Dst()["lit"], "f 0644 L");
}

TEST_F(FileOpTest, CopyFollowSymlinkAndSourceLinksStayInRoot) {
  Src("real", "R");
  ASSERT_EQ(symlink("/../../real", (src_.path() + "/ln").c_str()), 0);
  ASSERT_TRUE(Apply(Copy("/ln", "/kept")).ok());
  auto a = Copy("/ln", "/followed");
  a.mutable_copy()->set_followsymlink(true);
  ASSERT_TRUE(Apply(a).ok());
  EXPECT_EQ(Dst(),
            (Tree{{"kept", "l -> /../../real"}, {"followed", "f 0644 R"}}));
}

TEST_F(FileOpTest, CopyModeAndTimestampOverrides) {
  Src("d/f", "F", 0600);
  ASSERT_EQ(chmod((src_.path() + "/d").c_str(), 0700), 0);
  struct timespec old[2] = {{1000, 0}, {1000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, (src_.path() + "/d/f").c_str(), old, 0), 0);
  ASSERT_EQ(utimensat(AT_FDCWD, (src_.path() + "/d").c_str(), old, 0), 0);
  ASSERT_TRUE(Apply(Copy("/d", "/keep")).ok());
  auto a = Copy("/d", "/over");
  a.mutable_copy()->set_mode(0751);
  a.mutable_copy()->set_timestamp(kTs);
  ASSERT_TRUE(Apply(a).ok());
  EXPECT_EQ(Dst(true), (Tree{{"keep", "d 0700 @1000"},
                             {"keep/f", "f 0600 F @1000"},
                             {"over", "d 0751 @1600000000"},
                             {"over/f", "f 0751 F @1600000000"}}));
}

TEST_F(FileOpTest, CopyIncludeExcludePatterns) {
  Src("src/main.go", "m");
  Src("src/util/u.go", "u");
  Src("src/readme.md", "r");
  Src("vendor/x.go", "x");
  Src("vendor/keep/k.go", "k");
  auto a = Copy("/", "/out/");
  a.mutable_copy()->add_include_patterns("**/*.go");
  a.mutable_copy()->add_exclude_patterns("vendor");
  a.mutable_copy()->add_exclude_patterns("!vendor/keep");
  ASSERT_TRUE(Apply(a).ok());
  EXPECT_EQ(Dst(), (Tree{{"out", "d 0755"},
                         {"out/src", "d 0755"},
                         {"out/src/main.go", "f 0644 m"},
                         {"out/src/util", "d 0755"},
                         {"out/src/util/u.go", "f 0644 u"},
                         {"out/vendor", "d 0755"},
                         {"out/vendor/keep", "d 0755"},
                         {"out/vendor/keep/k.go", "f 0644 k"}}));
}

TEST_F(FileOpTest, CopyPreservesHardlinksAndXattrs) {
  Src("d/one", "same");
  ASSERT_EQ(
      link((src_.path() + "/d/one").c_str(), (src_.path() + "/d/two").c_str()),
      0);
  bool xattrs =
      setxattr((src_.path() + "/d/one").c_str(), "user.kiln", "v1", 2, 0) == 0;
  ASSERT_TRUE(Apply(Copy("/d", "/c")).ok());
  struct stat one, two;
  ASSERT_EQ(stat((dst_.path() + "/c/one").c_str(), &one), 0);
  ASSERT_EQ(stat((dst_.path() + "/c/two").c_str(), &two), 0);
  EXPECT_EQ(one.st_ino, two.st_ino);
  EXPECT_EQ(one.st_nlink, 2u);
  EXPECT_EQ(ReadFile(dst_.path() + "/c/two"), "same");
  if (!xattrs) GTEST_SKIP() << "user xattrs unsupported on the temp fs";
  char value[8] = {};
  ASSERT_EQ(getxattr((dst_.path() + "/c/one").c_str(), "user.kiln", value,
                     sizeof(value)),
            2);
  EXPECT_EQ(std::string(value), "v1");
}

TEST_F(FileOpTest, CopyReplacingDifferentTypes) {
  Src("d/f", "F");
  Src("file", "new");
  WriteFile(dst_.path() + "/out/d", "a file where a dir comes");
  WriteFile(dst_.path() + "/out2/file/x", "a dir where a file comes");
  auto a = Copy("/d", "/out/");
  Status s = Apply(a);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "copy /d -> /out/: /out/d: cannot copy a directory over a "
            "non-directory");
  a.mutable_copy()->set_alwaysreplaceexistingdestpaths(true);
  ASSERT_TRUE(Apply(a).ok());
  auto b = Copy("/", "/out2/");
  b.mutable_copy()->add_include_patterns("file");
  s = Apply(b);
  EXPECT_EQ(s.message(),
            "copy / -> /out2/: /out2/file: cannot replace a directory with a "
            "non-directory");
  b.mutable_copy()->set_alwaysreplaceexistingdestpaths(true);
  ASSERT_TRUE(Apply(b).ok());
  // An existing file is replaced without the option.
  ASSERT_TRUE(Apply(Copy("/file", "/out/d/f")).ok());
  EXPECT_EQ(Dst(), (Tree{{"out", "d 0755"},
                         {"out/d", "d 0755"},
                         {"out/d/f", "f 0644 new"},
                         {"out2", "d 0755"},
                         {"out2/file", "f 0644 new"}}));
}

TEST_F(FileOpTest, CopyOwnerByIdAndNameKeepingOurIds) {
  Src("f", "F");
  const uid_t uid = getuid();
  const gid_t gid = getgid();
  WriteFile(dst_.path() + "/etc/passwd", "me:x:" + std::to_string(uid) + ":" +
                                             std::to_string(gid) +
                                             "::/home/me:/bin/sh\n");
  WriteFile(dst_.path() + "/etc/group", "grp:x:" + std::to_string(gid) + ":\n");
  auto a = Copy("/f", "/byname");
  a.mutable_copy()->mutable_owner()->mutable_user()->mutable_byname()->set_name(
      "me");
  a.mutable_copy()
      ->mutable_owner()
      ->mutable_group()
      ->mutable_byname()
      ->set_name("grp");
  ASSERT_TRUE(Apply(a).ok()) << Apply(a).ToString();
  struct stat st;
  ASSERT_EQ(stat((dst_.path() + "/byname").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, uid);
  EXPECT_EQ(st.st_gid, gid);
  a.mutable_copy()->mutable_owner()->mutable_user()->mutable_byname()->set_name(
      "nobody-here");
  Status s = Apply(a);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("unable to find user nobody-here"),
            std::string::npos)
      << s.message();
}

TEST_F(FileOpTest, UnimplementedOptionsAreRejected) {
  Src("f", "F");
  auto a = Copy("/f", "/x");
  a.mutable_copy()->set_modestr("u+x");
  EXPECT_EQ(Apply(a).code(), StatusCode::kUnimplemented);
  a = Copy("/f", "/x");
  a.mutable_copy()->add_required_paths("f");
  EXPECT_EQ(Apply(a).code(), StatusCode::kUnimplemented);
  EXPECT_TRUE(Dst().empty());
  EXPECT_EQ(ApplyFileAction(pb::FileAction(), {}).code(),
            StatusCode::kInvalidArgument);
}

TEST_F(FileOpTest, CopyUnpacksArchivesWhenAsked) {
  if (!testing::HaveProgram("tar")) GTEST_SKIP() << "tar is missing";
  WriteFile(work_in_.path() + "/x/file", "in archive");
  ASSERT_EQ(chmod((work_in_.path() + "/x/file").c_str(), 0600), 0);
  ASSERT_EQ(RunCommand({"tar", "-czf", src_.path() + "/a.tar.gz", "-C",
                        work_in_.path(), "x"})
                .exit_code,
            0);
  ASSERT_EQ(RunCommand({"tar", "-cf", src_.path() + "/b.tar", "-C",
                        work_in_.path(), "x"})
                .exit_code,
            0);
  Src("plain.txt", "not an archive");
  auto a = Copy("/a.tar.gz", "/out");
  a.mutable_copy()->set_attemptunpackdockercompatibility(true);
  ASSERT_TRUE(Apply(a).ok()) << Apply(a).ToString();
  a = Copy("/b.tar", "/out2/");
  a.mutable_copy()->set_attemptunpackdockercompatibility(true);
  a.mutable_copy()->set_createdestpath(true);
  ASSERT_TRUE(Apply(a).ok());
  a = Copy("/plain.txt", "/out/");
  a.mutable_copy()->set_attemptunpackdockercompatibility(true);
  ASSERT_TRUE(Apply(a).ok());
  ASSERT_TRUE(Apply(Copy("/b.tar", "/kept.tar")).ok());  // flag unset
  Tree tree = Dst();
  EXPECT_EQ(tree["out/x/file"], "f 0600 in archive");
  EXPECT_EQ(tree["out2/x/file"], "f 0600 in archive");
  EXPECT_EQ(tree["out/plain.txt"], "f 0644 not an archive");
  EXPECT_EQ(tree["kept.tar"].substr(0, 2), "f ");
  EXPECT_EQ(tree.count("out/a.tar.gz"), 0u);
  if (testing::HaveProgram("xz")) {
    ASSERT_EQ(RunCommand({"tar", "-cJf", src_.path() + "/c.tar.xz", "-C",
                          work_in_.path(), "x"})
                  .exit_code,
              0);
    a = Copy("/c.tar.xz", "/out3/");
    a.mutable_copy()->set_attemptunpackdockercompatibility(true);
    Status s = Apply(a);
    EXPECT_EQ(s.code(), StatusCode::kUnimplemented);
    EXPECT_EQ(s.message(),
              "copy /c.tar.xz -> /out3/: unpacking archives compressed with "
              "xz is not implemented");
  }
}

}  // namespace
}  // namespace kiln::solver::file_op_test
