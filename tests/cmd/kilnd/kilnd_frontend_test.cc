// A frontend build through kilnd: the SDK's example frontend image (in the
// daemon's store) reads its Kilnfile from the client's session, runs, and
// the output comes back; its located error reaches the CLI as
// "error: FILE:LINE: …", as in an embedded build.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "kilnd_fixture.h"
#include "support/engine_setup.h"

namespace kiln::kilnd_test {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class KilndFrontendTest : public KilndTest {
 protected:
  void SetUp() override {
    KilndTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    fs::create_directories(dir_ + "/fe/bin");
    fs::copy_file(KILN_EXAMPLE_FRONTEND, dir_ + "/fe/bin/kilnfile-frontend");
    std::ofstream(dir_ + "/fe.json")
        << R"({"config":{"Entrypoint":["/bin/kilnfile-frontend"],"Labels":{)"
           R"("moby.buildkit.frontend.network.none":"true",)"
           R"("moby.buildkit.frontend.caps":""}}})";
    fs::create_directories(dir_ + "/busybox");
    Status rootfs = solver::testing::MakeBusyboxRootfs(dir_ + "/busybox");
    ASSERT_TRUE(rootfs.ok()) << rootfs.ToString();
    ASSERT_EQ(
        Run("--root " + root_ + " image import " + dir_ + "/busybox busybox:1"),
        0)
        << err_;
    ASSERT_EQ(Run("--root " + root_ + " image import --config " + dir_ +
                  "/fe.json " + dir_ + "/fe example/kilnfile:1"),
              0)
        << err_;
    fs::create_directories(dir_ + "/project");
    std::ofstream(dir_ + "/project/input.txt") << "shout\n";
  }

  int Run(const std::string& args) {
    std::string cmd = std::string(KILN_BINARY) + " " + args + " >" + dir_ +
                      "/cli.out 2>" + dir_ + "/cli.err </dev/null";
    int status = std::system(cmd.c_str());
    err_ = Slurp(dir_ + "/cli.err");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  std::string BuildArgs() const {
    return "--addr unix://" + socket_ +
           " build --frontend gateway.v0 --opt source=example/kilnfile:1 "
           "--opt filename=Kilnfile --local context=" +
           dir_ + "/project --local dockerfile=" + dir_ +
           "/project --progress plain";
  }

  std::string err_;
};

TEST_F(KilndFrontendTest, BuildsWithAFrontendImage) {
  StartDaemon();
  std::ofstream(dir_ + "/project/Kilnfile")
      << "from busybox:1\nworkdir /app\ncopy input.txt ./\n"
         "run tr a-z A-Z < input.txt > upper.txt\n";
  ASSERT_EQ(Run(BuildArgs() + " -o type=local,dest=" + dir_ + "/result"), 0)
      << err_ << "\n"
      << DaemonLog();
  EXPECT_EQ(Slurp(dir_ + "/result/app/upper.txt"), "SHOUT\n");
  EXPECT_NE(err_.find("[frontend] "), std::string::npos) << err_;
}

TEST_F(KilndFrontendTest, LocatedFrontendErrorsKeepTheirPlace) {
  StartDaemon();
  std::ofstream(dir_ + "/project/Kilnfile") << "from busybox:1\nfrobnicate x\n";
  EXPECT_EQ(Run(BuildArgs()), 1) << err_;
  EXPECT_NE(err_.find("error: Kilnfile:2"), std::string::npos) << err_;
}

}  // namespace
}  // namespace kiln::kilnd_test
