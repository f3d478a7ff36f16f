// `kiln build --call check|targets` and the printed frontend warnings, end
// to end with the Dockerfile frontend program run on the host
// (--frontend-exec). Needs root (the embedded engine's snapshots).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli_run.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

using cli_test::CliRun;

class BuildCallCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root for the engine's state";
    dir_ = fs::temp_directory_path() /
           ("kiln-call-cli-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "ctx");
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  void Dockerfile(const std::string& text) {
    std::ofstream(dir_ / "ctx/Dockerfile") << text;
  }
  CliRun Kiln(const std::string& args) {
    const std::string ctx = (dir_ / "ctx").string();
    return cli_test::RunKilnIn(
        dir_,
        "--root " + (dir_ / "root").string() + " build --frontend-exec " +
            KILN_DOCKERFILE_FRONTEND + " --local context=" + ctx +
            " --local dockerfile=" + ctx + " --progress quiet " + args,
        "");
  }

  fs::path dir_;
};

constexpr char kWarned[] = "FROM scratch AS Build\nCOPY <<EOF /x\nhi\nEOF\n";

TEST_F(BuildCallCliTest, CheckPrintsTheLintTextAndFailsOnWarnings) {
  Dockerfile(kWarned);
  CliRun r = Kiln("--call check");
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_NE(r.out.find("Lint Rule StageNameCasing"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("Stage name 'Build' should be lowercase"),
            std::string::npos)
      << r.out;

  Dockerfile("FROM scratch AS build\nCOPY <<EOF /x\nhi\nEOF\n");
  CliRun clean = Kiln("--call=check");
  EXPECT_EQ(clean.exit_code, 0) << clean.err;
  EXPECT_EQ(clean.out, "");
}

TEST_F(BuildCallCliTest, TargetsListsTheStages) {
  Dockerfile("FROM scratch AS base\nFROM base AS final\n");
  CliRun r = Kiln("--call targets");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("TARGET"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("final (default)"), std::string::npos) << r.out;
}

TEST_F(BuildCallCliTest, OutlineListsTheArgs) {
  Dockerfile("FROM scratch\nARG VERSION=1\nCOPY $VERSION /v\n");
  CliRun r = Kiln("--call outline --opt build-arg:VERSION=7");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("BUILD ARG"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("VERSION     7"), std::string::npos) << r.out;
}

TEST_F(BuildCallCliTest, BuildWarningsAreLocated) {
  Dockerfile(kWarned);
  CliRun r = Kiln("--output type=local,dest=" + (dir_ / "out-tree").string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("Dockerfile:1: StageNameCasing: Stage name 'Build' "
                       "should be lowercase (line 1)"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("More info: "
                       "https://docs.docker.com/go/dockerfile/rule/"
                       "stage-name-casing/"),
            std::string::npos)
      << r.err;
  std::ifstream x(dir_ / "out-tree/x");
  std::string content((std::istreambuf_iterator<char>(x)), {});
  EXPECT_EQ(content, "hi\n");
}

}  // namespace
}  // namespace kiln
