// The SDK's example frontend (sdk/examples/kilnfile, built static in tree) as
// an image, run by `kiln build --frontend gateway.v0 --opt source=IMAGE`:
// from the embedded store, and from a registry (a real docker-registry on
// 127.0.0.1) into a second, empty state root. Needs root, runc and
// docker-registry.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "cli_run.h"
#include "support/engine_setup.h"
#include "support/registry_fixture.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;

using cli_test::CliRun;
using cli_test::Slurp;

class ExampleFrontendCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string missing = solver::testing::RuncRequirementsMissing();
        !missing.empty()) {
      GTEST_SKIP() << missing;
    }
    dir_ = fs::temp_directory_path() /
           ("kiln-example-fe-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "fe/bin");
    fs::copy_file(KILN_EXAMPLE_FRONTEND, dir_ / "fe/bin/kilnfile-frontend");
    std::ofstream(dir_ / "fe.json")
        << R"({"config":{"Entrypoint":["/bin/kilnfile-frontend"],"Labels":{)"
           R"("moby.buildkit.frontend.network.none":"true",)"
           R"("moby.buildkit.frontend.caps":""}}})";
    fs::create_directories(dir_ / "busybox");
    Status rootfs =
        solver::testing::MakeBusyboxRootfs((dir_ / "busybox").string());
    ASSERT_TRUE(rootfs.ok()) << rootfs.ToString();
    // The project: a Kilnfile on busybox, with a file from the context.
    fs::create_directories(dir_ / "project");
    std::ofstream(dir_ / "project/Kilnfile")
        << "from busybox:1\nworkdir /app\ncopy input.txt ./\n"
           "run tr a-z A-Z < input.txt > upper.txt\ncmd cat /app/upper.txt\n";
    std::ofstream(dir_ / "project/input.txt") << "shout\n";
  }
  void TearDown() override {
    unsetenv("KILN_CONFIG");
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  CliRun Kiln(const std::string& root, const std::string& args) {
    return cli_test::RunKilnIn(
        dir_, "--root " + (dir_ / root).string() + " " + args, "");
  }
  // busybox:1 and (optionally) the frontend image in state root `root`.
  void Prepare(const std::string& root, bool with_frontend) {
    CliRun bb = Kiln(
        root, "image import " + (dir_ / "busybox").string() + " busybox:1");
    ASSERT_EQ(bb.exit_code, 0) << bb.err;
    if (!with_frontend) return;
    CliRun fe =
        Kiln(root, "image import --config " + (dir_ / "fe.json").string() +
                       " " + (dir_ / "fe").string() + " example/kilnfile:1");
    ASSERT_EQ(fe.exit_code, 0) << fe.err;
  }
  void BuildAndCheck(const std::string& root, const std::string& source) {
    std::string out = (dir_ / (root + "-out")).string();
    std::string project = (dir_ / "project").string();
    CliRun r =
        Kiln(root, "build --frontend gateway.v0 --opt source=" + source +
                       " --opt filename=Kilnfile --local context=" + project +
                       " --local dockerfile=" + project +
                       " --progress plain --output type=local,dest=" + out);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(Slurp(out + "/app/upper.txt"), "SHOUT\n");
    EXPECT_NE(r.err.find("[frontend] "), std::string::npos) << r.err;
  }

  fs::path dir_;
};

TEST_F(ExampleFrontendCliTest, FromTheEmbeddedStore) {
  ASSERT_NO_FATAL_FAILURE(Prepare("root", true));
  BuildAndCheck("root", "example/kilnfile:1");
}

TEST_F(ExampleFrontendCliTest, FromARegistryIntoAnEmptyRoot) {
  if (std::string why = solver::testing::TestRegistry::UnavailableReason();
      !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto registry = solver::testing::TestRegistry::Start();
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  std::string host = (*registry)->host();
  std::ofstream(dir_ / "kiln.toml")
      << "[registry.\"" << host << "\"]\n  http = true\n";
  setenv("KILN_CONFIG", (dir_ / "kiln.toml").c_str(), 1);

  ASSERT_NO_FATAL_FAILURE(Prepare("publisher", true));
  CliRun pushed = Kiln("publisher", "image push example/kilnfile:1 " + host +
                                        "/frontends/kilnfile:1");
  ASSERT_EQ(pushed.exit_code, 0) << pushed.err;

  // A second root that has never seen the frontend: it is pulled.
  ASSERT_NO_FATAL_FAILURE(Prepare("builder", false));
  BuildAndCheck("builder", host + "/frontends/kilnfile:1");
  // The frontend came from the registry: the store names what it pulled.
  CliRun ls = Kiln("builder", "image ls");
  EXPECT_NE(ls.out.find(host + "/frontends/kilnfile"), std::string::npos)
      << ls.out;
}

}  // namespace
}  // namespace kiln
