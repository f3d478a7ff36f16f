// Unit tests for the FileOp executor (kiln/solver/file_op.h): mkdir, mkfile,
// rm, symlink and in-root path resolution, checked on the resulting trees
// and error messages, and ApplyFileOp's action graph. Copy is in
// file_op_copy_test.cc. No root needed.
#include "kiln/solver/file_op.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "file_op_test_util.h"
#include "support/test_util.h"

namespace kiln::solver::file_op_test {
namespace {

TEST_F(FileOpTest, MkdirSetsExactModeIgnoringUmask) {
  ASSERT_TRUE(Apply(Mkdir("/a", 0777)).ok());
  ASSERT_TRUE(Apply(Mkdir("b", 0750, false, kTs)).ok());
  EXPECT_EQ(Dst(), (Tree{{"a", "d 0777"}, {"b", "d 0750"}}));
  EXPECT_EQ(Dst(true)["b"], "d 0750 @1600000000");
}

TEST_F(FileOpTest, MkdirMakeParentsAndTimestamp) {
  ASSERT_TRUE(Apply(Mkdir("/x/y/z", 0711, true, kTs)).ok());
  EXPECT_EQ(Dst(true), (Tree{{"x", "d 0711 @1600000000"},
                             {"x/y", "d 0711 @1600000000"},
                             {"x/y/z", "d 0711 @1600000000"}}));
  // Existing directories are fine, with or without makeParents.
  EXPECT_TRUE(Apply(Mkdir("/x/y", 0700, true)).ok());
  EXPECT_TRUE(Apply(Mkdir("/x/y", 0700, false)).ok());
  EXPECT_EQ(Dst()["x/y"], "d 0711");
}

TEST_F(FileOpTest, MkdirErrors) {
  Status s = Apply(Mkdir("/missing/dir", 0755));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(),
            "mkdir /missing/dir: /missing/dir: no such file or directory");
  WriteFile(dst_.path() + "/file", "x");
  s = Apply(Mkdir("/file", 0755));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "mkdir /file: /file: not a directory");
  s = Apply(Mkdir("/file/sub", 0755, true));
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
}

TEST_F(FileOpTest, MkfileWritesModeDataAndTime) {
  ASSERT_TRUE(Apply(Mkfile("/f", "hello", 0640, kTs)).ok());
  ASSERT_TRUE(Apply(Mkfile("/f2", "", 04755)).ok());  // & 0777
  EXPECT_EQ(Dst(true)["f"], "f 0640 hello @1600000000");
  EXPECT_EQ(Dst()["f2"], "f 0755 ");
  ASSERT_TRUE(Apply(Mkfile("/f", "new", 0600)).ok());  // replaces
  EXPECT_EQ(Dst()["f"], "f 0600 new");
  Status s = Apply(Mkfile("/nodir/f", "x"));
  EXPECT_EQ(s.message(),
            "mkfile /nodir/f: /nodir/f: no such file or directory");
}

TEST_F(FileOpTest, SymlinksResolveInsideTheRoot) {
  TempDir outside("kiln-fileop-outside-");
  // Absolute and ".."-climbing links both land inside dst_.
  ASSERT_EQ(symlink("/../../../../etc", (dst_.path() + "/abs").c_str()), 0);
  ASSERT_EQ(symlink((outside.path()).c_str(), (dst_.path() + "/out").c_str()),
            0);
  ASSERT_TRUE(Apply(Mkdir("/abs", 0755, true)).ok());  // creates /etc
  ASSERT_TRUE(Apply(Mkfile("/abs/passwd", "in-root")).ok());
  EXPECT_EQ(Dst()["etc/passwd"], "f 0644 in-root");
  Status s = Apply(Mkfile("/out/escape", "x"));  // parent only in root
  EXPECT_EQ(s.code(), StatusCode::kNotFound) << s.ToString();
  ASSERT_TRUE(Apply(Mkdir("/out/sub", 0755, true)).ok());
  EXPECT_TRUE(DumpTree(outside.path()).empty());
  // The host path of `outside`, created under dst_ instead.
  EXPECT_EQ(Dst()[outside.path().substr(1) + "/sub"], "d 0755");
}

TEST_F(FileOpTest, RmFilesTreesAndNotFound) {
  WriteFile(dst_.path() + "/d/a/b", "1");
  WriteFile(dst_.path() + "/keep", "2");
  ASSERT_TRUE(Apply(Rm("/d")).ok());
  EXPECT_EQ(Dst(), (Tree{{"keep", "f 0644 2"}}));
  Status s = Apply(Rm("/nope"));
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "rm /nope: /nope: no such file or directory");
  EXPECT_TRUE(Apply(Rm("/nope", true)).ok());
  EXPECT_EQ(Apply(Rm("/")).code(), StatusCode::kInvalidArgument);
}

TEST_F(FileOpTest, RmWildcardAndLinkNotFollowed) {
  WriteFile(dst_.path() + "/a1.txt", "1");
  WriteFile(dst_.path() + "/b1.txt", "2");
  WriteFile(dst_.path() + "/c1.log", "3");
  WriteFile(dst_.path() + "/target/x", "4");
  ASSERT_EQ(symlink("target", (dst_.path() + "/ln").c_str()), 0);
  ASSERT_TRUE(Apply(Rm("/[ab]?.txt", false, true)).ok());
  ASSERT_TRUE(Apply(Rm("/ln")).ok());
  EXPECT_EQ(Dst(), (Tree{{"c1.log", "f 0644 3"},
                         {"target", "d 0755"},
                         {"target/x", "f 0644 4"}}));
  EXPECT_TRUE(Apply(Rm("/zz*", false, true)).ok());  // no match: nothing
}

TEST_F(FileOpTest, SymlinkAction) {
  pb::FileAction a;
  a.mutable_symlink()->set_oldpath("../target");
  a.mutable_symlink()->set_newpath("/link");
  a.mutable_symlink()->set_timestamp(kTs);
  ASSERT_TRUE(Apply(a).ok());
  EXPECT_EQ(Dst()["link"], "l -> ../target");
  struct stat st;
  ASSERT_EQ(lstat((dst_.path() + "/link").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, 1600000000);
  Status s = Apply(a);
  EXPECT_EQ(s.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(s.message(), "symlink /link -> ../target: /link: file exists");
}

// ApplyFileOp: the action graph, snapshot-style directories, outputs.
class FileOpGraphTest : public ::testing::Test {
 protected:
  PrepareActionDir Prepare() {
    return
        [this](size_t j,
               const std::optional<std::string>& base) -> Result<std::string> {
          std::string dir = work_.path() + "/a" + std::to_string(j);
          prepared_.push_back(j);
          if (!base) {
            if (mkdir(dir.c_str(), 0755) != 0) return InternalError("mkdir");
          } else if (RunCommand({"cp", "-a", *base, dir}).exit_code != 0) {
            return InternalError("cp");
          }
          return dir;
        };
  }
  TempDir in0_{"kiln-fileop-in0-"};
  TempDir in1_{"kiln-fileop-in1-"};
  TempDir work_{"kiln-fileop-work-"};
  std::vector<size_t> prepared_;
};

TEST_F(FileOpGraphTest, ChainsActionsAndPublishesOutputs) {
  WriteFile(in0_.path() + "/base", "b");
  WriteFile(in1_.path() + "/ctx/app.txt", "app");
  pb::FileOp op;
  *op.add_actions() = Mkdir("/app", 0755);  // 0: on input 0
  op.mutable_actions(0)->set_input(0);
  op.mutable_actions(0)->set_secondaryinput(-1);
  op.mutable_actions(0)->set_output(-1);
  *op.add_actions() = Copy("/ctx/app.txt", "/app/");  // 1: on action 0
  op.mutable_actions(1)->set_input(2);
  op.mutable_actions(1)->set_secondaryinput(1);
  op.mutable_actions(1)->set_output(0);
  *op.add_actions() = Mkfile("/only", "s");  // 2: scratch, output 1
  op.mutable_actions(2)->set_input(-1);
  op.mutable_actions(2)->set_output(1);
  *op.add_actions() = Rm("/base");  // 3: unused, never run
  op.mutable_actions(3)->set_input(0);
  op.mutable_actions(3)->set_output(-1);
  auto out = ApplyFileOp(op, {in0_.path(), in1_.path()}, Prepare());
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  ASSERT_EQ(out->size(), 2u);
  EXPECT_EQ(DumpTree((*out)[0]), (Tree{{"base", "f 0644 b"},
                                       {"app", "d 0755"},
                                       {"app/app.txt", "f 0644 app"}}));
  EXPECT_EQ(DumpTree((*out)[1]), (Tree{{"only", "f 0644 s"}}));
  EXPECT_EQ(prepared_, (std::vector<size_t>{0, 1, 2}));
  // Inputs and intermediate results are left alone.
  EXPECT_EQ(DumpTree(in0_.path()), (Tree{{"base", "f 0644 b"}}));
  EXPECT_EQ(DumpTree(work_.path() + "/a0"),
            (Tree{{"base", "f 0644 b"}, {"app", "d 0755"}}));
}

TEST_F(FileOpGraphTest, RejectsBadGraphsAndNamesTheFailingAction) {
  pb::FileOp op;
  *op.add_actions() = Mkdir("/a", 0755);
  op.mutable_actions(0)->set_input(2);  // itself: n = 1, action 0 = 1
  op.mutable_actions(0)->set_output(0);
  auto out = ApplyFileOp(op, {in0_.path()}, Prepare());
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  op.mutable_actions(0)->set_input(1);  // self-reference: a cycle
  out = ApplyFileOp(op, {in0_.path()}, Prepare());
  EXPECT_EQ(out.status().message(), "file action 0: cycle in the action graph");
  op.mutable_actions(0)->set_input(0);
  op.mutable_actions(0)->set_output(1);  // slot 0 missing
  out = ApplyFileOp(op, {in0_.path()}, Prepare());
  EXPECT_EQ(out.status().message(), "file action 0: invalid output slot 1");
  *op.add_actions() = Mkdir("/b", 0755);
  op.mutable_actions(1)->set_output(-1);
  out = ApplyFileOp(op, {in0_.path()}, Prepare());
  EXPECT_EQ(out.status().message(), "file op: no action for output slot 0");
  op.mutable_actions(1)->set_output(1);
  out = ApplyFileOp(op, {in0_.path()}, Prepare());
  EXPECT_EQ(out.status().message(), "file action 1: duplicate output slot 1");
  op.mutable_actions()->RemoveLast();
  op.mutable_actions(0)->set_output(0);
  *op.add_actions() = Rm("/nope");
  op.mutable_actions(1)->set_input(1);
  op.mutable_actions(1)->set_output(1);
  out = ApplyFileOp(op, {in0_.path()}, Prepare());
  EXPECT_EQ(out.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(out.status().message(),
            "file action 1: rm /nope: /nope: no such file or directory");
}

}  // namespace
}  // namespace kiln::solver::file_op_test
