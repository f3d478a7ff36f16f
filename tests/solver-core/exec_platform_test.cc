// CheckExecPlatform against hand-made binfmt_misc directories: native
// sub-architectures, matching handlers (qemu-user-static's magic and mask),
// and each missing piece named in the error.
#include "kiln/solver/exec_platform.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "support/test_util.h"

namespace kiln::solver {
namespace {

using testing::TempDir;
using testing::WriteFile;

const llb::Platform kAmd64{"linux", "amd64", "", "", {}};
const llb::Platform kArm64{"linux", "arm64", "", "", {}};

// qemu-user-static's aarch64 registration as the kernel shows it.
std::string Aarch64Handler(const std::string& state, const std::string& flags) {
  return state +
         "\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\n"
         "flags: " +
         flags +
         "\noffset 0\n"
         "magic 7f454c460201010000000000000000000200b700\n"
         "mask ffffffffffffff00fffffffffffffffffeffffff\n";
}

class ExecPlatformTest : public ::testing::Test {
 protected:
  void Mount() {
    WriteFile(dir() + "/status", "enabled\n");
    WriteFile(dir() + "/register", "");
  }
  std::string dir() const { return tmp_.path() + "/binfmt"; }
  TempDir tmp_{"kiln-binfmt-"};
};

TEST_F(ExecPlatformTest, HostAndSubArchitecturesRunNatively) {
  EXPECT_TRUE(RunsNatively(kAmd64, kAmd64));
  EXPECT_TRUE(RunsNatively({"linux", "386", "", "", {}}, kAmd64));
  EXPECT_TRUE(RunsNatively({"linux", "arm", "v7", "", {}}, kArm64));
  EXPECT_TRUE(RunsNatively({"linux", "aarch64", "", "", {}}, kArm64));
  EXPECT_FALSE(RunsNatively(kArm64, kAmd64));
  EXPECT_FALSE(RunsNatively(kAmd64, kArm64));
  EXPECT_TRUE(
      CheckExecPlatform({"linux", "386", "", "", {}}, kAmd64, dir()).ok());
}

TEST_F(ExecPlatformTest, UnmountedDirectoryIsNamed) {
  Status s = CheckExecPlatform(kArm64, kAmd64, dir());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(),
            "cannot run linux/arm64 binaries on this linux/amd64 host: no "
            "binfmt_misc handler for aarch64 (install qemu-user-static and "
            "register it, e.g. with update-binfmts; " +
                dir() + " is not mounted)");
}

TEST_F(ExecPlatformTest, MatchingHandlerWithFixBinaryRuns) {
  Mount();
  WriteFile(dir() + "/qemu-aarch64", Aarch64Handler("enabled", "OCF"));
  EXPECT_TRUE(CheckExecPlatform(kArm64, kAmd64, dir()).ok());
  // The aarch64 handler does not serve arm/v7 (another e_machine, 32-bit).
  Status arm = CheckExecPlatform({"linux", "arm", "v7", "", {}}, kAmd64, dir());
  EXPECT_NE(arm.message().find("no binfmt_misc handler for arm "),
            std::string::npos)
      << arm.ToString();
}

TEST_F(ExecPlatformTest, EachMissingPieceIsNamed) {
  Mount();
  Status none = CheckExecPlatform(kArm64, kAmd64, dir());
  EXPECT_NE(none.message().find("no binfmt_misc handler for aarch64 (install"),
            std::string::npos)
      << none.ToString();
  EXPECT_EQ(none.message().find("not mounted"), std::string::npos);

  WriteFile(dir() + "/qemu-aarch64", Aarch64Handler("enabled", "OC"));
  Status unfixed = CheckExecPlatform(kArm64, kAmd64, dir());
  EXPECT_NE(unfixed.message().find("lacks the F (fix binary) flag"),
            std::string::npos)
      << unfixed.ToString();

  WriteFile(dir() + "/qemu-aarch64", Aarch64Handler("disabled", "OCF"));
  Status disabled = CheckExecPlatform(kArm64, kAmd64, dir());
  EXPECT_NE(disabled.message().find("qemu-aarch64 for aarch64 is disabled"),
            std::string::npos)
      << disabled.ToString();

  WriteFile(dir() + "/qemu-aarch64", Aarch64Handler("enabled", "OCF"));
  WriteFile(dir() + "/status", "disabled\n");
  Status off = CheckExecPlatform(kArm64, kAmd64, dir());
  EXPECT_NE(off.message().find("binfmt_misc is disabled"), std::string::npos)
      << off.ToString();
}

TEST_F(ExecPlatformTest, UnknownArchitectureAndOsAreRefused) {
  Mount();
  Status arch =
      CheckExecPlatform({"linux", "sparc64", "", "", {}}, kAmd64, dir());
  EXPECT_NE(arch.message().find("architecture sparc64"), std::string::npos)
      << arch.ToString();
  Status os =
      CheckExecPlatform({"windows", "amd64", "", "", {}}, kAmd64, dir());
  EXPECT_EQ(os.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(os.message().find("cannot run windows/amd64"), std::string::npos)
      << os.ToString();
}

}  // namespace
}  // namespace kiln::solver
