// `kiln build --platform a,b` end to end: a cross-compile style Dockerfile
// (the build stage on $BUILDPLATFORM, one file per $TARGETARCH) exported as
// an OCI archive whose index skopeo lists with both platforms and whose
// images each hold their own file (skopeo + umoci), as platform-split local
// directories, the docker exporter's refusal, and a RUN of a foreign
// platform failing before it starts when no binfmt_misc handler exists.
// Needs root and runc.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "cli_engine.h"
#include "cli_run.h"
#include "kiln/solver/exec_platform.h"
#include "support/test_util.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using cli_test::CliRun;
using Json = nlohmann::json;
using solver::testing::RunCommand;

// "tools" uses no TARGET* arg: one op for both platforms, solved once (its
// random stamp is the same in both images).
constexpr char kCrossDockerfile[] =
    "FROM --platform=$BUILDPLATFORM busybox AS tools\n"
    "RUN cat /proc/sys/kernel/random/uuid > /stamp\n"
    "FROM --platform=$BUILDPLATFORM busybox AS build\n"
    "ARG TARGETARCH\n"
    "ARG BUILDPLATFORM\n"
    "COPY --from=tools /stamp /stamp\n"
    "RUN echo \"built on $BUILDPLATFORM for $TARGETARCH\" > /out-$TARGETARCH\n"
    "FROM scratch\n"
    "COPY --from=build /out-* /stamp /\n";

class MultiPlatformCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string missing = cli_test::EngineMissing(); !missing.empty()) {
      GTEST_SKIP() << missing;
    }
    dir_ = fs::temp_directory_path() /
           ("kiln-multiplatform-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "ctx");
    ASSERT_EQ(cli_test::PrepareRoot(dir_, Root()), "");
    std::ofstream(dir_ / "ctx/Dockerfile") << kCrossDockerfile;
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string Root() const { return (dir_ / "root").string(); }
  std::string Path(const std::string& rel) const {
    return (dir_ / rel).string();
  }
  CliRun Kiln(const std::string& args) {
    return cli_test::RunKilnIn(dir_, "--root " + Root() + " " + args, "");
  }
  // The file `name` of the image for `arch` in the archive, through skopeo
  // (select the platform) and umoci (unpack it).
  std::string FileOfPlatform(const std::string& archive,
                             const std::string& arch, const std::string& name) {
    std::string n = std::to_string(++unpacks_);
    std::string layout = Path("layout-" + arch + "-" + n);
    auto copied = RunCommand({"skopeo", "copy", "--override-os", "linux",
                              "--override-arch", arch, "oci-archive:" + archive,
                              "oci:" + layout + ":img"});
    EXPECT_EQ(copied.exit_code, 0) << copied.output;
    std::string rootfs = Path("rootfs-" + arch + "-" + n);
    auto unpacked = RunCommand({"umoci", "raw", "unpack", "--rootless",
                                "--image", layout + ":img", rootfs});
    EXPECT_EQ(unpacked.exit_code, 0) << unpacked.output;
    if (!fs::exists(rootfs + "/" + name)) return "<absent>";
    return cli_test::Slurp(rootfs + "/" + name);
  }

  fs::path dir_;
  int unpacks_ = 0;
};

TEST_F(MultiPlatformCliTest, OciArchiveIndexesBothPlatforms) {
  if (!solver::testing::HaveProgram("skopeo") ||
      !solver::testing::HaveProgram("umoci")) {
    GTEST_SKIP() << "needs skopeo and umoci";
  }
  std::string archive = Path("x.tar");
  CliRun b = Kiln(
      "build --progress plain --platform linux/amd64,linux/arm64 -o "
      "type=oci,dest=" +
      archive + " " + Path("ctx"));
  ASSERT_EQ(b.exit_code, 0) << b.err;
  auto raw =
      RunCommand({"skopeo", "inspect", "--raw", "oci-archive:" + archive},
                 /*merge_stderr=*/false);
  ASSERT_EQ(raw.exit_code, 0) << raw.output;
  Json index = Json::parse(raw.output);
  EXPECT_EQ(index["mediaType"], "application/vnd.oci.image.index.v1+json");
  ASSERT_EQ(index["manifests"].size(), 2u) << raw.output;
  EXPECT_EQ(index["manifests"][0]["platform"]["architecture"], "amd64");
  EXPECT_EQ(index["manifests"][1]["platform"]["architecture"], "arm64");
  // The build stage ran on the engine's platform for both targets.
  std::string host = llb::FormatPlatform(llb::HostPlatform());
  EXPECT_EQ(FileOfPlatform(archive, "amd64", "out-amd64"),
            "built on " + host + " for amd64\n");
  EXPECT_EQ(FileOfPlatform(archive, "arm64", "out-arm64"),
            "built on " + host + " for arm64\n");
  EXPECT_EQ(FileOfPlatform(archive, "arm64", "out-amd64"), "<absent>");
  std::string stamp = FileOfPlatform(archive, "amd64", "stamp");
  EXPECT_EQ(stamp.size(), 37u) << stamp;
  EXPECT_EQ(FileOfPlatform(archive, "arm64", "stamp"), stamp);
}

TEST_F(MultiPlatformCliTest, LocalSplitsAndDockerRefuses) {
  CliRun b = Kiln(
      "build --progress plain --platform linux/amd64,linux/arm64 -o "
      "type=local,dest=" +
      Path("exported") + " " + Path("ctx"));
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_TRUE(fs::exists(dir_ / "exported/linux_amd64/out-amd64"));
  EXPECT_TRUE(fs::exists(dir_ / "exported/linux_arm64/out-arm64"));
  EXPECT_FALSE(fs::exists(dir_ / "exported/linux_arm64/out-amd64"));

  CliRun d = Kiln(
      "build --progress plain --platform linux/amd64,linux/arm64 -o "
      "type=docker,name=mp:1,dest=" +
      Path("d.tar") + " " + Path("ctx"));
  EXPECT_EQ(d.exit_code, 1) << d.err;
  EXPECT_NE(d.err.find("cannot export a multi-platform result"),
            std::string::npos)
      << d.err;
  EXPECT_FALSE(fs::exists(dir_ / "d.tar"));

  // type=image names an index; `kiln image ls` lists it.
  CliRun i = Kiln(
      "build --progress plain --platform linux/amd64,linux/arm64 -t mp:1 " +
      Path("ctx"));
  ASSERT_EQ(i.exit_code, 0) << i.err;
  CliRun ls = Kiln("image ls");
  EXPECT_NE(ls.out.find("mp:1"), std::string::npos) << ls.out << ls.err;
}

TEST_F(MultiPlatformCliTest, IndexWithoutTheHostPlatformIsNamedClearly) {
  std::ofstream(dir_ / "ctx/Dockerfile") << "FROM scratch\nCOPY Dockerfile /\n";
  CliRun b = Kiln(
      "build --progress quiet --platform linux/s390x,linux/ppc64le -t "
      "foreign:1 " +
      Path("ctx"));
  ASSERT_EQ(b.exit_code, 0) << b.err;
  CliRun run = Kiln("run --rm foreign:1");
  EXPECT_NE(run.exit_code, 0);
  EXPECT_NE(run.err.find("linux/s390x"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("linux/ppc64le"), std::string::npos) << run.err;
  CliRun inspect = Kiln("image inspect --platform linux/s390x foreign:1");
  EXPECT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("s390x"), std::string::npos) << inspect.out;
}

TEST_F(MultiPlatformCliTest, ForeignRunWithoutHandlerFailsBeforeStarting) {
  const llb::Platform arm64{"linux", "arm64", "", "", {}};
  if (llb::HostPlatform().architecture == "arm64" ||
      solver::CheckExecPlatform(arm64, llb::HostPlatform()).ok()) {
    GTEST_SKIP() << "this host runs linux/arm64 binaries (natively or "
                    "through binfmt_misc): the error path cannot be shown";
  }
  std::ofstream(dir_ / "ctx/Dockerfile")
      << "FROM scratch\nRUN [\"/bin/true\"]\n";
  CliRun b = Kiln(
      "build --progress plain --platform linux/arm64 -o "
      "type=local,dest=" +
      Path("exported") + " " + Path("ctx"));
  EXPECT_EQ(b.exit_code, 1) << b.err;
  EXPECT_NE(b.err.find("cannot run linux/arm64 binaries on this " +
                       llb::FormatPlatform(llb::HostPlatform()) +
                       " host: no binfmt_misc handler for aarch64"),
            std::string::npos)
      << b.err;
  EXPECT_NE(b.err.find("qemu-user-static"), std::string::npos) << b.err;
}

}  // namespace
}  // namespace kiln
