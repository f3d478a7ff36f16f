// Drives `kiln build --frontend/--frontend-exec` end to end: the test
// frontend (tests/gateway/test_frontend.cc) as an image in the embedded store
// run by gateway.v0 and by the dockerfile.v0 alias, as a host program, and
// the operator's frontend policy from KILN_CONFIG. Needs root and runc.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli_run.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

using cli_test::CliRun;
using cli_test::Slurp;

bool HaveRunc() { return std::system("command -v runc >/dev/null 2>&1") == 0; }

class BuildFrontendCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0 || !HaveRunc()) {
      GTEST_SKIP() << "needs root and runc to run frontend containers";
    }
    dir_ = fs::temp_directory_path() /
           ("kiln-frontend-cli-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "fe/bin");
    fs::copy_file(KILN_TEST_FRONTEND, dir_ / "fe/bin/frontend");
    std::ofstream(dir_ / "fe.json")
        << R"({"config":{"Entrypoint":["/bin/frontend"],"Labels":{)"
           R"("moby.buildkit.frontend.network.none":"true",)"
           R"("moby.buildkit.frontend.caps":""}}})";
    CliRun imported =
        Kiln("image import --config " + (dir_ / "fe.json").string() + " " +
             (dir_ / "fe").string() + " testfe:1");
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    digest_ = imported.out.substr(0, imported.out.find('\n'));
    ASSERT_TRUE(digest_.starts_with("sha256:")) << imported.out;
  }
  void TearDown() override {
    unsetenv("KILN_CONFIG");
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  CliRun Kiln(const std::string& args) {
    return cli_test::RunKilnIn(
        dir_, "--root " + (dir_ / "root").string() + " " + args, "");
  }
  void UseConfig(const std::string& toml) {
    std::ofstream(dir_ / "kiln.toml") << toml;
    setenv("KILN_CONFIG", (dir_ / "kiln.toml").c_str(), 1);
  }
  std::string Out() const { return (dir_ / "out").string() + "-tree"; }

  fs::path dir_;
  std::string digest_;  // of testfe:1's manifest
};

TEST_F(BuildFrontendCliTest, GatewayImageFromTheStoreRunsSandboxed) {
  // mode=ok checks the read-only root and the missing network itself.
  CliRun r = Kiln(
      "build --frontend gateway.v0 --opt source=testfe:1 --opt mode=ok "
      "--opt message=from-a-container --progress plain --output "
      "type=local,dest=" +
      Out());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Slurp(Out() + "/out.txt"), "from-a-container");
  EXPECT_NE(r.err.find("[frontend] docker.io/library/testfe@" + digest_),
            std::string::npos)
      << r.err;
}

TEST_F(BuildFrontendCliTest, StaleFrontendStateOfAKilledBuildIsRemoved) {
  fs::create_directories(dir_ / "root/frontends/frontend-stale/metadata");
  CliRun r = Kiln(
      "build --frontend gateway.v0 --opt source=testfe:1 --opt mode=ok "
      "--opt message=x --progress quiet");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "root/frontends/frontend-stale"));
  // And nothing of this run is left behind either.
  EXPECT_TRUE(!fs::exists(dir_ / "root/frontends") ||
              fs::is_empty(dir_ / "root/frontends"));
}

TEST_F(BuildFrontendCliTest, FrontendExecRunsAHostProgram) {
  CliRun r = Kiln(std::string("build --frontend-exec ") + KILN_TEST_FRONTEND +
                  " --opt mode=ok --opt nocheck=1 --opt message=host "
                  "--progress plain --output type=local,dest=" +
                  Out());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Slurp(Out() + "/out.txt"), "host");
}

TEST_F(BuildFrontendCliTest, DockerfileAliasFollowsThePolicy) {
  UseConfig("[frontend]\ndockerfile = \"testfe:1\"\n");
  CliRun r = Kiln(
      "build --frontend dockerfile.v0 --opt mode=ok --opt message=alias "
      "--progress plain --output type=local,dest=" +
      Out());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Slurp(Out() + "/out.txt"), "alias");
}

TEST_F(BuildFrontendCliTest, RemapIsShownInTheProgress) {
  UseConfig(
      "[[frontend.remap]]\nfrom = \"example.com/fe:*\"\n"
      "to = \"testfe:{major}\"\ninstalled = true\n");
  CliRun r = Kiln(
      "build --frontend gateway.v0 --opt source=example.com/fe:1.2.3 "
      "--opt mode=ok --opt message=remapped --progress plain "
      "--output type=local,dest=" +
      Out());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Slurp(Out() + "/out.txt"), "remapped");
  EXPECT_NE(r.err.find("remap example.com/fe:1.2.3 → "
                       "docker.io/library/testfe:1"),
            std::string::npos)
      << r.err;
}

TEST_F(BuildFrontendCliTest, PolicyRefusalsAreClearErrors) {
  UseConfig("[frontend]\ndeny = [\"testfe\"]\n");
  CliRun denied = Kiln(
      "build --frontend gateway.v0 --opt source=testfe:1 --opt mode=ok "
      "--progress plain");
  EXPECT_EQ(denied.exit_code, 1);
  EXPECT_NE(denied.err.find("frontend image docker.io/library/testfe:1 is "
                            "denied by policy (deny pattern \"testfe\")"),
            std::string::npos)
      << denied.err;

  const std::string other(
      "sha256:"
      "0000000000000000000000000000000000000000000000000000000000000000");
  UseConfig("[frontend.pin]\n\"testfe:1\" = \"" + other + "\"\n");
  CliRun pinned = Kiln(
      "build --frontend gateway.v0 --opt source=testfe:1 --opt mode=ok "
      "--progress plain");
  EXPECT_EQ(pinned.exit_code, 1);
  EXPECT_NE(pinned.err.find("is pinned to " + other +
                            " by policy but resolved to " + digest_),
            std::string::npos)
      << pinned.err;

  UseConfig("[frontend]\nallow = [\"kiln/*\"]\n");
  CliRun not_allowed =
      Kiln("build --frontend gateway.v0 --opt source=testfe:1 --opt mode=ok");
  EXPECT_EQ(not_allowed.exit_code, 1);
  EXPECT_NE(not_allowed.err.find("is not in the policy's allow list"),
            std::string::npos)
      << not_allowed.err;
}

TEST_F(BuildFrontendCliTest, NamedContextReplacesTheFrontendImage) {
  // BuildKit's override: context:<source, familiar form> names the image.
  CliRun r = Kiln(
      "build --frontend gateway.v0 --opt source=example.com/absent:2 "
      "--opt context:example.com/absent:2=docker-image://testfe:1 "
      "--opt mode=ok --opt message=overridden --progress plain "
      "--output type=local,dest=" +
      Out());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(Slurp(Out() + "/out.txt"), "overridden");
  CliRun bad = Kiln(
      "build --frontend gateway.v0 --opt source=testfe:1 "
      "--opt context:testfe:1=local:ctx --opt mode=ok");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("frontend image override context:testfe:1=local:ctx: "
                         "only docker-image://REF values are supported"),
            std::string::npos)
      << bad.err;
}

TEST_F(BuildFrontendCliTest, AFrontendThatDoesNotExitAfterReturnIsKilled) {
  CliRun r = Kiln(
      "build --frontend gateway.v0 --opt source=testfe:1 --opt mode=linger "
      "--opt message=x --progress plain");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("returned its result but did not exit within 10 s and "
                       "was killed"),
            std::string::npos)
      << r.err;
}

TEST_F(BuildFrontendCliTest, DockerfileAliasNeverPulls) {
  // The default dockerfile.v0 image is not installed in this root: an error
  // at once, no registry lookup of docker.io/kiln/dockerfile.
  CliRun r = Kiln("build --frontend dockerfile.v0 --progress plain");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("docker.io/kiln/dockerfile:1 (installed frontends "
                       "only)"),
            std::string::npos)
      << r.err;
  EXPECT_EQ(r.err.find("registry-1.docker.io"), std::string::npos) << r.err;
  // The buildkitd spelling of the same switch-off.
  UseConfig("[frontend.\"dockerfile.v0\"]\nenabled = false\n");
  CliRun off = Kiln("build --frontend dockerfile.v0");
  EXPECT_EQ(off.exit_code, 1);
  EXPECT_NE(off.err.find("frontend dockerfile.v0 is disabled by the operator "
                         "config"),
            std::string::npos)
      << off.err;
}

TEST_F(BuildFrontendCliTest, AFailingFrontendFailsTheBuild) {
  CliRun r = Kiln(
      "build --frontend gateway.v0 --opt source=testfe:1 --opt mode=crash "
      "--progress plain");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("error: frontend docker.io/library/testfe@" + digest_ +
                       " exited with code"),
            std::string::npos)
      << r.err;
}

TEST_F(BuildFrontendCliTest, FrontendLsPinAndUnpin) {
  CliRun ls = Kiln("frontend ls");
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_NE(ls.out.find("dockerfile.v0: kiln/dockerfile:1 (installed only)"),
            std::string::npos)
      << ls.out;
  EXPECT_NE(ls.out.find("testfe:1 "), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find(digest_.substr(7, 12)), std::string::npos) << ls.out;

  // Without a digest: what the reference resolves to now.
  CliRun pin = Kiln("frontend pin testfe:1");
  ASSERT_EQ(pin.exit_code, 0) << pin.err;
  EXPECT_EQ(pin.out, "pinned testfe:1 to " + digest_ + "\n");
  EXPECT_NE(Slurp(dir_ / "root/frontend-pins.toml")
                .find("\"docker.io/library/testfe:1\" = \"" + digest_ + "\""),
            std::string::npos);
  ls = Kiln("frontend ls");
  EXPECT_NE(ls.out.find("testfe:1 = " + digest_ +
                        " (kiln frontend pin; store matches)"),
            std::string::npos)
      << ls.out;
  CliRun ok = Kiln(
      "build --frontend gateway.v0 --opt source=testfe:1 --opt mode=ok "
      "--opt message=pinned --progress plain --output type=local,dest=" +
      Out());
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(Slurp(Out() + "/out.txt"), "pinned");

  // A pin the store does not match fails the build, naming both digests.
  const std::string wrong = "sha256:" + std::string(64, '0');
  ASSERT_EQ(Kiln("frontend pin testfe:1 " + wrong).exit_code, 0);
  CliRun refused = Kiln(
      "build --frontend gateway.v0 --opt source=testfe:1 --opt mode=ok "
      "--progress plain");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("pinned to " + wrong +
                             " by policy but resolved to " + digest_),
            std::string::npos)
      << refused.err;
  ls = Kiln("frontend ls");
  EXPECT_NE(ls.out.find("store has " + digest_), std::string::npos) << ls.out;

  // The operator config may not contradict a CLI pin.
  UseConfig("[frontend.pin]\n\"testfe:1\" = \"" + digest_ + "\"\n");
  CliRun conflict = Kiln("frontend ls");
  EXPECT_EQ(conflict.exit_code, 1);
  EXPECT_NE(conflict.err.find("is pinned to " + digest_ + " in "),
            std::string::npos)
      << conflict.err;
  EXPECT_NE(conflict.err.find("but to " + wrong), std::string::npos)
      << conflict.err;
  unsetenv("KILN_CONFIG");

  CliRun unpin = Kiln("frontend unpin testfe:1");
  ASSERT_EQ(unpin.exit_code, 0) << unpin.err;
  EXPECT_EQ(Kiln("frontend unpin testfe:1").exit_code, 1);
  EXPECT_EQ(Kiln("frontend pin").exit_code, 2);
  EXPECT_EQ(Kiln("frontend pin testfe@" + digest_).exit_code, 1);
  ok = Kiln(
      "build --frontend gateway.v0 --opt source=testfe:1 --opt mode=ok "
      "--progress plain");
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
}

}  // namespace
}  // namespace kiln
