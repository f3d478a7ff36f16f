// SOURCE_DATE_EPOCH through kilnd: the client passes it as the build arg,
// the daemon's exporters take the frontend's epoch, and the image is the
// same as an embedded build's in a fresh root.
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "../cli_engine.h"
#include "kilnd_fixture.h"

namespace kiln::kilnd_test {
namespace {

namespace fs = std::filesystem;

TEST_F(KilndTest, SourceDateEpochReachesTheDaemonsExporters) {
  const std::string embedded_root = dir_ + "/root-embedded";
  // The same base image in both roots: imports are deterministic under an
  // epoch.
  setenv("SOURCE_DATE_EPOCH", "0", 1);
  fs::create_directories(dir_ + "/work");
  fs::create_directories(dir_ + "/work-embedded");
  std::string daemon_root = cli_test::PrepareRoot(dir_ + "/work", root_);
  std::string other_root =
      cli_test::PrepareRoot(dir_ + "/work-embedded", embedded_root);
  unsetenv("SOURCE_DATE_EPOCH");
  ASSERT_EQ(daemon_root, "");
  ASSERT_EQ(other_root, "");
  StartDaemon();
  fs::create_directories(dir_ + "/ctx");
  std::ofstream(dir_ + "/ctx/Dockerfile")
      << "FROM busybox\nCOPY data.txt /data.txt\nRUN echo made > /made\n";
  std::ofstream(dir_ + "/ctx/data.txt") << "from the client\n";
  fs::create_directories(dir_ + "/cli");

  setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  cli_test::CliRun remote = cli_test::RunKilnIn(
      dir_ + "/cli",
      "--addr unix://" + socket_ +
          " build --progress quiet -o type=oci,dest=" + dir_ +
          "/remote.tar,rewrite-timestamp=true -o type=local,dest=" + dir_ +
          "/out " + dir_ + "/ctx",
      "");
  cli_test::CliRun embedded = cli_test::RunKilnIn(
      dir_ + "/cli",
      "--root " + embedded_root + " build --progress quiet -o type=oci,dest=" +
          dir_ + "/embedded.tar,rewrite-timestamp=true " + dir_ + "/ctx",
      "");
  unsetenv("SOURCE_DATE_EPOCH");
  ASSERT_EQ(remote.exit_code, 0) << remote.err << "\n" << DaemonLog();
  ASSERT_EQ(embedded.exit_code, 0) << embedded.err;

  std::string a = cli_test::Slurp(dir_ + "/remote.tar");
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, cli_test::Slurp(dir_ + "/embedded.tar"));
  // The local exporter sets every time to the epoch.
  for (const char* path : {"/out/made", "/out/data.txt", "/out/bin"}) {
    struct stat st {};
    ASSERT_EQ(lstat((dir_ + path).c_str(), &st), 0) << path;
    EXPECT_EQ(st.st_mtime, 1700000000) << path;
  }
}

}  // namespace
}  // namespace kiln::kilnd_test
