// FileOp ownership tests that need root: chown by id and by name (looked up
// in another input's /etc/passwd and /etc/group), ownership kept by copy,
// and owners on created parent directories and symlinks.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "kiln/solver/file_op.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

using testing::TempDir;
using testing::WriteFile;

std::string Owner(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return "missing";
  return std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid);
}

class FileOpRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) KILN_SKIP_UNLESS_REQUIRED("chown tests need root");
    WriteFile(src_.path() + "/d/f", "F");
    ASSERT_EQ(symlink("f", (src_.path() + "/d/ln").c_str()), 0);
    ASSERT_EQ(lchown((src_.path() + "/d/f").c_str(), 42, 43), 0);
    ASSERT_EQ(lchown((src_.path() + "/d/ln").c_str(), 44, 45), 0);
    WriteFile(users_.path() + "/etc/passwd",
              "root:x:0:0::/root:/bin/sh\napp:x:1000:1001::/app:/bin/sh\n");
    WriteFile(users_.path() + "/etc/group", "root:x:0:\nstaff:x:2000:\n");
  }
  Status Apply(const pb::FileAction& action) {
    FileActionDirs dirs;
    dirs.dest = dst_.path();
    dirs.source = src_.path();
    dirs.input_dir = [this](int64_t i) -> Result<std::string> {
      if (i == 3) return users_.path();
      return InvalidArgumentError("unexpected input " + std::to_string(i));
    };
    return ApplyFileAction(action, dirs);
  }
  static pb::FileAction Copy(const std::string& src, const std::string& dest) {
    pb::FileAction a;
    a.mutable_copy()->set_src(src);
    a.mutable_copy()->set_dest(dest);
    a.mutable_copy()->set_mode(-1);
    a.mutable_copy()->set_timestamp(-1);
    a.mutable_copy()->set_createdestpath(true);
    return a;
  }
  std::string D(const std::string& rel) { return dst_.path() + "/" + rel; }

  TempDir src_{"kiln-fileop-root-src-"};
  TempDir dst_{"kiln-fileop-root-dst-"};
  TempDir users_{"kiln-fileop-root-users-"};
};

TEST_F(FileOpRootTest, CopyKeepsSourceOwnership) {
  ASSERT_TRUE(Apply(Copy("/d", "/keep")).ok());
  EXPECT_EQ(Owner(D("keep/f")), "42:43");
  EXPECT_EQ(Owner(D("keep/ln")), "44:45");
}

TEST_F(FileOpRootTest, CopyChownByIdCoversParentsAndSymlinks) {
  auto a = Copy("/d", "/p/q/byid");
  a.mutable_copy()->mutable_owner()->mutable_user()->set_byid(1234);
  ASSERT_TRUE(Apply(a).ok());
  for (const char* rel :
       {"p", "p/q", "p/q/byid", "p/q/byid/f", "p/q/byid/ln"}) {
    EXPECT_EQ(Owner(D(rel)), "1234:1234") << rel;
  }
  a = Copy("/d/f", "/gid");
  a.mutable_copy()->mutable_owner()->mutable_user()->set_byid(7);
  a.mutable_copy()->mutable_owner()->mutable_group()->set_byid(8);
  ASSERT_TRUE(Apply(a).ok());
  EXPECT_EQ(Owner(D("gid")), "7:8");
  a = Copy("/d/f", "/grouponly");
  a.mutable_copy()->mutable_owner()->mutable_group()->set_byid(9);
  ASSERT_TRUE(Apply(a).ok());
  EXPECT_EQ(Owner(D("grouponly")), "0:9");
}

TEST_F(FileOpRootTest, OwnersByNameFromAnotherInput) {
  pb::ChownOpt owner;
  owner.mutable_user()->mutable_byname()->set_name("app");
  owner.mutable_user()->mutable_byname()->set_input(3);
  auto a = Copy("/d/f", "/user");
  *a.mutable_copy()->mutable_owner() = owner;
  ASSERT_TRUE(Apply(a).ok());
  EXPECT_EQ(Owner(D("user")), "1000:1001");
  owner.mutable_group()->mutable_byname()->set_name("staff");
  owner.mutable_group()->mutable_byname()->set_input(3);

  pb::FileAction mkdir;
  mkdir.mutable_mkdir()->set_path("/m/n");
  mkdir.mutable_mkdir()->set_mode(0755);
  mkdir.mutable_mkdir()->set_makeparents(true);
  mkdir.mutable_mkdir()->set_timestamp(-1);
  *mkdir.mutable_mkdir()->mutable_owner() = owner;
  ASSERT_TRUE(Apply(mkdir).ok());
  EXPECT_EQ(Owner(D("m")), "1000:2000");
  EXPECT_EQ(Owner(D("m/n")), "1000:2000");

  pb::FileAction mkfile;
  mkfile.mutable_mkfile()->set_path("/m/file");
  mkfile.mutable_mkfile()->set_mode(0644);
  mkfile.mutable_mkfile()->set_timestamp(-1);
  *mkfile.mutable_mkfile()->mutable_owner() = owner;
  ASSERT_TRUE(Apply(mkfile).ok());
  EXPECT_EQ(Owner(D("m/file")), "1000:2000");

  pb::FileAction ln;
  ln.mutable_symlink()->set_oldpath("file");
  ln.mutable_symlink()->set_newpath("/m/link");
  ln.mutable_symlink()->set_timestamp(-1);
  *ln.mutable_symlink()->mutable_owner() = owner;
  ASSERT_TRUE(Apply(ln).ok());
  EXPECT_EQ(Owner(D("m/link")), "1000:2000");

  owner.mutable_group()->mutable_byname()->set_name("nogroup");
  *mkfile.mutable_mkfile()->mutable_owner() = owner;
  Status s = Apply(mkfile);
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("unable to find group nogroup"), std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace kiln::solver
