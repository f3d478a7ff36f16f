// Every kiln command and subcommand answers --help with its usage on
// stdout and exit code 0, and an unknown flag with exit code 2.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "cli_run.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using cli_test::CliRun;

// Every command as of this writing; a new one belongs here.
const std::vector<std::string> kCommands = {"",
                                            "build",
                                            "run",
                                            "image",
                                            "image ls",
                                            "image inspect",
                                            "image tag",
                                            "image rm",
                                            "image import",
                                            "image pull",
                                            "image push",
                                            "image save",
                                            "image load",
                                            "debug",
                                            "debug dump-llb",
                                            "debug workers",
                                            "debug info",
                                            "frontend",
                                            "frontend ls",
                                            "frontend pin",
                                            "frontend unpin",
                                            "du",
                                            "prune"};

class HelpCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("kiln-help-cli-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  CliRun Kiln(const std::string& args) {
    return cli_test::RunKilnIn(
        dir_, "--root " + (dir_ / "root").string() + " " + args, "");
  }
  fs::path dir_;
};

TEST_F(HelpCliTest, EveryCommandHasHelp) {
  for (const std::string& command : kCommands) {
    for (const char* flag : {"--help", "-h"}) {
      CliRun r = Kiln(command + " " + flag);
      EXPECT_EQ(r.exit_code, 0) << command << " " << flag << ": " << r.err;
      EXPECT_EQ(r.out.rfind("Usage:", 0), 0u)
          << command << " " << flag << ": " << r.out;
    }
  }
}

TEST_F(HelpCliTest, UnknownFlagsAreUsageErrors) {
  for (const std::string& command : kCommands) {
    CliRun r = Kiln(command + " --no-such-flag");
    EXPECT_EQ(r.exit_code, 2) << command << ": " << r.err;
    EXPECT_NE(r.err.find("no-such-flag"), std::string::npos)
        << command << ": " << r.err;
  }
  EXPECT_EQ(Kiln("no-such-command").exit_code, 2);
  EXPECT_EQ(Kiln("").exit_code, 2);  // no command: usage on stderr
}

TEST_F(HelpCliTest, TopLevelHelpDocumentsExitCodes) {
  CliRun r = Kiln("--help");
  for (const char* s :
       {"Exit codes:", "0    success", "1    the command failed",
        "2    the command line was wrong", "130", "run ", "build ", "debug "}) {
    EXPECT_NE(r.out.find(s), std::string::npos) << s;
  }
}

}  // namespace
}  // namespace kiln
