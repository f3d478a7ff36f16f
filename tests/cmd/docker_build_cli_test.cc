// `kiln build` in docker buildx's spelling, end to end: a Dockerfile built
// through the containerized Dockerfile frontend with -t, --build-arg, -f,
// --target and stdin, found in the image store and run with `kiln run`.
// Needs root and runc.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "cli_engine.h"
#include "cli_run.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using cli_test::CliRun;

class DockerBuildCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string missing = cli_test::EngineMissing(); !missing.empty()) {
      GTEST_SKIP() << missing;
    }
    dir_ = fs::temp_directory_path() /
           ("kiln-docker-build-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "ctx");
    fs::create_directories(dir_ / "other");
    std::string error = cli_test::PrepareRoot(dir_, Root());
    ASSERT_EQ(error, "");
    std::ofstream(dir_ / "ctx/Dockerfile")
        << "FROM busybox AS base\nARG WHO=nobody\n"
           "RUN echo \"hello $WHO\" > /greeting\n"
           "FROM base AS final\nLABEL org.example.kind=test\n"
           "CMD [\"cat\", \"/greeting\"]\n";
    std::ofstream(dir_ / "other/Alt.dockerfile")
        << "FROM busybox\nCOPY data.txt /data.txt\nCMD [\"cat\", "
           "\"/data.txt\"]\n";
    std::ofstream(dir_ / "ctx/data.txt") << "from the context\n";
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string Root() const { return (dir_ / "root").string(); }
  CliRun Kiln(const std::string& args, const std::string& input = "") {
    return cli_test::RunKilnIn(dir_, "--root " + Root() + " " + args, input);
  }

  fs::path dir_;
};

TEST_F(DockerBuildCliTest, TagStoresTheImageAndRunRunsIt) {
  const std::string ctx = (dir_ / "ctx").string();
  CliRun b = Kiln(
      "build -t greet:1 -t example.com/greet:latest --build-arg "
      "WHO=kiln --progress plain " +
      ctx);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  EXPECT_NE(b.err.find("exported type=image"), std::string::npos) << b.err;
  CliRun ls = Kiln("image ls");
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_NE(ls.out.find("greet:1"), std::string::npos) << ls.out;
  EXPECT_NE(ls.out.find("example.com/greet:latest"), std::string::npos)
      << ls.out;
  CliRun inspect = Kiln("image inspect greet:1");
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  EXPECT_NE(inspect.out.find("org.example.kind"), std::string::npos);
  CliRun run = Kiln("run --rm greet:1");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.out, "hello kiln\n");
}

TEST_F(DockerBuildCliTest, FileTargetAndOutputNames) {
  const std::string ctx = (dir_ / "ctx").string();
  const std::string tar = (dir_ / "alt.tar").string();
  CliRun b =
      Kiln("build -f " + (dir_ / "other/Alt.dockerfile").string() +
           " -t alt:2 -o type=oci,dest=" + tar + " --progress quiet " + ctx);
  ASSERT_EQ(b.exit_code, 0) << b.err;
  // With -o, the tag names the OCI archive's image, not a stored one.
  EXPECT_TRUE(fs::exists(tar));
  std::string archive = cli_test::Slurp(tar);
  EXPECT_NE(archive.find("alt:2"), std::string::npos);
  EXPECT_EQ(Kiln("image ls").out.find("alt:2"), std::string::npos);

  CliRun t = Kiln("build --target base -t base:1 --progress quiet " + ctx);
  ASSERT_EQ(t.exit_code, 0) << t.err;
  CliRun run = Kiln("run base:1 cat /greeting");
  EXPECT_EQ(run.out, "hello nobody\n") << run.err;
}

TEST_F(DockerBuildCliTest, DockerfileFromStdin) {
  CliRun b = Kiln("build -t piped:1 --progress quiet -",
                  "FROM busybox\nRUN echo piped > /p\n");
  ASSERT_EQ(b.exit_code, 0) << b.err;
  CliRun run = Kiln("run piped:1 cat /p");
  EXPECT_EQ(run.out, "piped\n") << run.err;
}

TEST_F(DockerBuildCliTest, ErrorsAndExitCodes) {
  const std::string ctx = (dir_ / "ctx").string();
  CliRun cache = Kiln("build --cache-from type=gha " + ctx);
  EXPECT_EQ(cache.exit_code, 2);
  EXPECT_NE(cache.err.find("cache type gha is not supported by kiln"),
            std::string::npos)
      << cache.err;
  CliRun mixed = Kiln("build --llb - " + ctx);
  EXPECT_EQ(mixed.exit_code, 2);
  EXPECT_NE(mixed.err.find("cannot be combined with --llb"), std::string::npos);
  CliRun bad_tag = Kiln("build -t Bad:Tag " + ctx);
  EXPECT_EQ(bad_tag.exit_code, 2);
  EXPECT_NE(bad_tag.err.find("-t \"Bad:Tag\""), std::string::npos);
  // A failing step: exit code 1, the failing command and its output.
  std::ofstream(dir_ / "other/Dockerfile")
      << "FROM busybox\nRUN echo doomed-output; exit 4\n";
  CliRun failed = Kiln("build --progress plain " + (dir_ / "other").string());
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_NE(failed.err.find("exit code: 4"), std::string::npos) << failed.err;
  EXPECT_NE(failed.err.find("doomed-output"), std::string::npos);
}

// SIGTERM (like Ctrl-C's SIGINT), and SIGHUP (the terminal closed), cancel
// a running build: the step is CANCELED and the exit code is 130. A
// cancelled step is not cached, so the second signal meets it running too.
TEST_F(DockerBuildCliTest, CancelledBuildExits130) {
  std::ofstream(dir_ / "other/Dockerfile")
      << "FROM busybox\nRUN echo st\"\"arted && sleep 60\n";
  for (int sig : {SIGTERM, SIGHUP}) {
    SCOPED_TRACE(sig == SIGTERM ? "SIGTERM" : "SIGHUP");
    const std::string err = (dir_ / "cancel.err").string();
    const std::string root = Root(), ctx = (dir_ / "other").string();
    std::vector<std::string> args = {KILN_BINARY,  "--root", root, "build",
                                     "--progress", "plain",  ctx};
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 2, err.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    pid_t pid = 0;
    ASSERT_EQ(
        posix_spawn(&pid, KILN_BINARY, &actions, nullptr, argv.data(), environ),
        0);
    posix_spawn_file_actions_destroy(&actions);
    // Wait for the step's output, then cancel.
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (cli_test::Slurp(err).find(" started") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    kill(pid, sig);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    std::string text = cli_test::Slurp(err);
    ASSERT_TRUE(WIFEXITED(status)) << text;
    EXPECT_EQ(WEXITSTATUS(status), 130) << text;
    EXPECT_NE(text.find("CANCELED"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace kiln
