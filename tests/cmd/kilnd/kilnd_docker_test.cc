// `kiln --addr … build` in docker's spelling: the Dockerfile frontend image
// in the daemon's store, the context and a stdin Dockerfile sent through the
// session, the result exported back to the client.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "../cli_engine.h"
#include "kilnd_fixture.h"

namespace kiln::kilnd_test {
namespace {

namespace fs = std::filesystem;

TEST_F(KilndTest, DockerStyleBuildThroughTheDaemon) {
  fs::create_directories(dir_ + "/work");
  ASSERT_EQ(cli_test::PrepareRoot(dir_ + "/work", root_), "");
  StartDaemon();
  fs::create_directories(dir_ + "/ctx");
  std::ofstream(dir_ + "/ctx/Dockerfile")
      << "FROM busybox AS base\nARG WHO=nobody\n"
         "RUN echo \"hello $WHO\" > /greeting\n"
         "FROM base\nCOPY data.txt /data.txt\n";
  std::ofstream(dir_ + "/ctx/data.txt") << "from the client\n";
  fs::create_directories(dir_ + "/cli");
  const std::string addr = "--addr unix://" + socket_;
  cli_test::CliRun r = cli_test::RunKilnIn(
      dir_ + "/cli",
      addr +
          " build --progress plain --build-arg WHO=remote -o type=local,dest=" +
          dir_ + "/out " + dir_ + "/ctx",
      "");
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << DaemonLog();
  EXPECT_EQ(cli_test::Slurp(dir_ + "/out/greeting"), "hello remote\n");
  EXPECT_EQ(cli_test::Slurp(dir_ + "/out/data.txt"), "from the client\n");
  // A Dockerfile on stdin.
  r = cli_test::RunKilnIn(
      dir_ + "/cli",
      addr + " build --progress quiet -f - -o type=local,dest=" + dir_ +
          "/out2 " + dir_ + "/ctx",
      "FROM busybox\nCOPY data.txt /copied\n");
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << DaemonLog();
  EXPECT_EQ(cli_test::Slurp(dir_ + "/out2/copied"), "from the client\n");
}

// --platform a,b through the daemon: every platform comes back, split into
// one directory per platform (local) and as an index (oci, to the client).
TEST_F(KilndTest, MultiPlatformBuildThroughTheDaemon) {
  fs::create_directories(dir_ + "/work");
  ASSERT_EQ(cli_test::PrepareRoot(dir_ + "/work", root_), "");
  StartDaemon();
  fs::create_directories(dir_ + "/ctx");
  std::ofstream(dir_ + "/ctx/Dockerfile")
      << "FROM --platform=$BUILDPLATFORM busybox AS build\nARG TARGETARCH\n"
         "RUN echo $TARGETARCH > /arch\n"
         "FROM scratch\nCOPY --from=build /arch /arch\n";
  fs::create_directories(dir_ + "/cli");
  const std::string addr = "--addr unix://" + socket_;
  cli_test::CliRun r = cli_test::RunKilnIn(
      dir_ + "/cli",
      addr + " build --progress plain --platform linux/amd64,linux/arm64 " +
          "-o type=local,dest=" + dir_ + "/split -o type=oci,tar=false,dest=" +
          dir_ + "/layout " + dir_ + "/ctx",
      "");
  ASSERT_EQ(r.exit_code, 0) << r.err << "\n" << DaemonLog();
  EXPECT_EQ(cli_test::Slurp(dir_ + "/split/linux_amd64/arch"), "amd64\n");
  EXPECT_EQ(cli_test::Slurp(dir_ + "/split/linux_arm64/arch"), "arm64\n");
  std::string index_json = cli_test::Slurp(dir_ + "/layout/index.json");
  EXPECT_NE(index_json.find("application/vnd.oci.image.index.v1+json"),
            std::string::npos)
      << index_json;
}

}  // namespace
}  // namespace kiln::kilnd_test
