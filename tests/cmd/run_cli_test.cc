// `kiln run`, end to end: an image imported with a config (Entrypoint, Cmd,
// Env, WorkingDir, User) runs with runc; its output and exit code come
// back; flags override the config; stdin with -i; clear errors. Needs root
// and runc.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
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

class RunCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string missing = cli_test::EngineMissing(); !missing.empty()) {
      GTEST_SKIP() << missing;
    }
    dir_ = fs::temp_directory_path() /
           ("kiln-run-cli-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_EQ(cli_test::PrepareRoot(dir_, Root(), false), "");
    // The same busybox tree, with a config that sets everything run honours.
    std::ofstream(dir_ / "app.json")
        << R"({"config":{"Entrypoint":["/bin/sh","-c"],)"
           R"("Cmd":["echo \"$GREETING from $(pwd) as $(id -u)\"; exit 5"],)"
           R"("Env":["PATH=/bin","GREETING=hi"],"WorkingDir":"/tmp",)"
           R"("User":"builder"}})";
    CliRun app = Kiln("image import --config " + (dir_ / "app.json").string() +
                      " " + (dir_ / "busybox").string() + " app:1");
    ASSERT_EQ(app.exit_code, 0) << app.err;
  }
  void TearDown() override {
    unsetenv("KILN_RUNTIME");
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string Root() const { return (dir_ / "root").string(); }
  CliRun Kiln(const std::string& args, const std::string& input = "") {
    return cli_test::RunKilnIn(dir_, "--root " + Root() + " " + args, input);
  }

  fs::path dir_;
};

TEST_F(RunCliTest, HonoursTheImageConfigAndReturnsTheExitCode) {
  CliRun r = Kiln("run --rm app:1");
  EXPECT_EQ(r.exit_code, 5) << r.err;
  EXPECT_EQ(r.out, "hi from /tmp as 1000\n");
}

TEST_F(RunCliTest, FlagsOverrideTheConfig) {
  // The command replaces Cmd; the Entrypoint (sh -c) stays.
  CliRun r = Kiln(
      "run --env GREETING=yo -e EXTRA=1 -w / -u 0 app:1 "
      "'echo \"$GREETING $EXTRA from $(pwd) as $(id -u)\"; echo err >&2'");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "yo 1 from / as 0\n");
  EXPECT_EQ(r.err, "err\n");
}

TEST_F(RunCliTest, StdinWithInteractive) {
  CliRun r = Kiln("run -i busybox tr a-z A-Z", "shout\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "SHOUT\n");
  // Without -i the container's stdin is empty.
  CliRun no_stdin = Kiln("run busybox cat", "ignored\n");
  EXPECT_EQ(no_stdin.exit_code, 0) << no_stdin.err;
  EXPECT_EQ(no_stdin.out, "");
}

TEST_F(RunCliTest, WritesAreThrownAway) {
  CliRun w = Kiln("run busybox sh -c 'echo x > /written; cat /written'");
  EXPECT_EQ(w.out, "x\n") << w.err;
  CliRun r = Kiln("run busybox ls /written");
  EXPECT_NE(r.exit_code, 0);
  EXPECT_EQ(r.out, "");
}

TEST_F(RunCliTest, ClearErrors) {
  CliRun missing = Kiln("run nosuch:1");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("image nosuch:1 is not in kiln's image store"),
            std::string::npos)
      << missing.err;
  CliRun tty = Kiln("run -it busybox sh");
  EXPECT_EQ(tty.exit_code, 1);
  EXPECT_NE(tty.err.find("-t: the input device is not a terminal"),
            std::string::npos)
      << tty.err;
  CliRun usage = Kiln("run --bogus busybox");
  EXPECT_EQ(usage.exit_code, 2);
  EXPECT_NE(usage.err.find("unknown flag --bogus"), std::string::npos);
  EXPECT_EQ(Kiln("run").exit_code, 2);
  EXPECT_EQ(Kiln("run --network bridge busybox true").exit_code, 2);
  setenv("KILN_RUNTIME", "/nonexistent/runc", 1);
  CliRun no_runtime = Kiln("run busybox true");
  EXPECT_EQ(no_runtime.exit_code, 1);
  EXPECT_NE(no_runtime.err.find("no container runtime"), std::string::npos)
      << no_runtime.err;
}

// -it in a real terminal (a detached tmux session): the shell in the
// container has a terminal, reads what is typed, and its exit code is
// kiln's.
TEST_F(RunCliTest, TerminalWithTmux) {
  if (std::system("command -v tmux >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "tmux is not installed";
  }
  const std::string session = "kiln-run-tty-" + std::to_string(getpid());
  const fs::path script = dir_ / "tty.sh";
  std::ofstream(script) << KILN_BINARY << " --root " << Root()
                        << " run -it busybox sh\necho KILN-EXIT=$?\n"
                           "sleep 600\n";
  ASSERT_EQ(std::system(("tmux new-session -d -s " + session +
                         " -x 100 -y 30 'sh " + script.string() + "'")
                            .c_str()),
            0);
  // Ends the session however the test ends (SIGHUP stops kiln run, which
  // stops the container).
  struct KillSession {
    std::string name;
    ~KillSession() {
      std::system(("tmux kill-session -t " + name + " 2>/dev/null").c_str());
    }
  } kill_session{session};
  auto capture = [&] {
    std::string out;
    std::string cmd = "tmux capture-pane -p -t " + session;
    if (std::FILE* p = popen(cmd.c_str(), "r")) {
      char buf[4096];
      size_t n;
      while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
      pclose(p);
    }
    return out;
  };
  auto wait_for = [&](const std::string& text) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::string screen;
    while (std::chrono::steady_clock::now() < deadline) {
      screen = capture();
      if (screen.find(text) != std::string::npos) return screen;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "no \"" << text << "\" on the screen:\n" << screen;
    return screen;
  };
  auto send = [&](const std::string& keys) {
    std::system(
        ("tmux send-keys -t " + session + " '" + keys + "' Enter").c_str());
  };
  wait_for("/ #");  // the prompt: sh is interactive, on a terminal
  send("tty; echo on-$((6*7))");
  std::string screen = wait_for("on-42");
  EXPECT_NE(screen.find("/dev/pts/"), std::string::npos) << screen;
  send("exit 3");
  screen = wait_for("KILN-EXIT=");
  EXPECT_NE(screen.find("KILN-EXIT=3"), std::string::npos) << screen;
}

}  // namespace
}  // namespace kiln
