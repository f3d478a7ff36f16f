// The progress of `kiln build` as a user sees it. tty: the build runs in a
// detached tmux session (120x40) and the screen is captured while it runs —
// the "[+] Building" header with a running clock, parallel steps at once —
// and after: the compact final list with FINISHED and every step's time,
// CACHED on a rebuild, the failing command, exit code and log tail on an
// error. plain: BuildKit's "#N" blocks in order. Captures are polled
// against a deadline, never timed. Needs root and runc; the tty tests also
// tmux (skipped, saying so, without it).
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <string>
#include <thread>

#include "cli_engine.h"
#include "cli_run.h"

namespace kiln {
namespace {

namespace fs = std::filesystem;
using cli_test::CliRun;

// Two stages whose RUN steps overlap (each sleeps), then a stage copying
// from both.
constexpr char kParallel[] =
    "FROM busybox AS a\nRUN echo log-of-a && sleep 4 && echo a > /a\n"
    "FROM busybox AS b\nRUN echo log-of-b && sleep 4 && echo b > /b\n"
    "FROM busybox\nCOPY --from=a /a /a\nCOPY --from=b /b /b\n";
constexpr char kFailing[] =
    "FROM busybox\nRUN echo fine\n"
    "RUN echo fail-log-1; echo fail-log-2 >&2; exit 3\n";

std::string Output(const std::string& command) {
  std::string out;
  if (std::FILE* p = popen(command.c_str(), "r")) {
    char buf[4096];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    pclose(p);
  }
  return out;
}

class ProgressCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string missing = cli_test::EngineMissing(); !missing.empty()) {
      GTEST_SKIP() << missing;
    }
    name_ = "kiln-progress-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name();
    dir_ = fs::temp_directory_path() / name_;
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "par");
    fs::create_directories(dir_ / "fail");
    ASSERT_EQ(cli_test::PrepareRoot(dir_, Root()), "");
    std::ofstream(dir_ / "par/Dockerfile") << kParallel;
    std::ofstream(dir_ / "fail/Dockerfile") << kFailing;
  }
  void TearDown() override {
    if (tmux_)
      std::system(("tmux kill-session -t " + name_ + " 2>/dev/null").c_str());
    if (!dir_.empty()) fs::remove_all(dir_);
  }
  std::string Root() const { return (dir_ / "root").string(); }

  // Skips unless tmux is installed.
  bool NeedTmux() {
    if (std::system("command -v tmux >/dev/null 2>&1") != 0) return false;
    tmux_ = true;
    return true;
  }
  // Runs `kiln --root R build ARGS` in a new 120x40 tmux session, once the
  // pane has its size; "KILN-EXIT=N" is printed when it ends.
  void StartInTmux(const std::string& args) {
    std::system(("tmux kill-session -t " + name_ + " 2>/dev/null").c_str());
    const fs::path script = dir_ / "run.sh";
    std::ofstream(script) << "while [ \"$(stty size)\" != \"40 120\" ]; do "
                             "sleep 0.05; done\n"
                          << KILN_BINARY << " --root " << Root() << " build "
                          << args << "\necho KILN-EXIT=$?\nsleep 600\n";
    std::string cmd = "tmux new-session -d -s " + name_ + " -x 120 -y 40 'sh " +
                      script.string() + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  }
  // The visible screen.
  std::string Capture() {
    return Output("tmux capture-pane -p -t " + name_ + " 2>/dev/null");
  }
  // Polls the screen until `ok` accepts it or 120 s pass; returns the last
  // capture.
  std::string WaitFor(const std::function<bool(const std::string&)>& ok) {
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(120);
    std::string screen;
    while (std::chrono::steady_clock::now() < deadline) {
      screen = Capture();
      if (ok(screen)) return screen;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "timed out; last screen:\n" << screen;
    return screen;
  }
  static bool Has(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
  }
  // The seconds of the "[+] Building X.Ys" header, or -1.
  static double Clock(const std::string& screen) {
    std::smatch m;
    static const std::regex kHeader(R"(\[\+\] Building (\d+\.\d)s)");
    if (!std::regex_search(screen, m, kHeader)) return -1;
    return std::stod(m[1]);
  }

  std::string name_;
  fs::path dir_;
  bool tmux_ = false;
};

TEST_F(ProgressCliTest, TtyShowsParallelStepsLiveThenCollapses) {
  if (!NeedTmux()) GTEST_SKIP() << "tmux is not installed";
  StartInTmux("--progress tty " + (dir_ / "par").string());
  const std::regex run_a(R"( => \[a 2/2\] RUN echo log-of-a.* \d+\.\ds)");
  const std::regex run_b(R"( => \[b 2/2\] RUN echo log-of-b.* \d+\.\ds)");
  // Live: both RUN steps on screen at once, with their logs, unfinished.
  std::string live = WaitFor([&](const std::string& s) {
    return !Has(s, "FINISHED") && !Has(s, "KILN-EXIT") &&
           std::regex_search(s, run_a) && std::regex_search(s, run_b) &&
           Has(s, "=> => # log-of-a") && Has(s, "=> => # log-of-b");
  });
  ASSERT_TRUE(Has(live, "[+] Building")) << live;
  // The clock runs.
  const double first = Clock(live);
  std::string later = WaitFor([&](const std::string& s) {
    return Has(s, "KILN-EXIT") || Clock(s) >= first + 0.5;
  });
  EXPECT_GE(Clock(later), first + 0.5) << later;

  std::string done =
      WaitFor([](const std::string& s) { return Has(s, "KILN-EXIT="); });
  EXPECT_TRUE(Has(done, "KILN-EXIT=0")) << done;
  EXPECT_TRUE(std::regex_search(
      done, std::regex(R"(\[\+\] Building \d+\.\ds \(\d+/\d+\) FINISHED)")))
      << done;
  // Every step one line with its time; the logs of successful steps gone.
  for (const char* step : {R"( => \[a 2/2\] RUN echo log-of-a)",
                           R"( => \[b 2/2\] RUN echo log-of-b)",
                           R"( => \[stage-2 2/3\] COPY --from=a /a /a)",
                           R"( => \[stage-2 3/3\] COPY --from=b /b /b)"}) {
    EXPECT_TRUE(std::regex_search(
        done, std::regex(std::string(step) + R"(.* \d+\.\ds\n)")))
        << step << "\n"
        << done;
  }
  EXPECT_FALSE(Has(done, "=> => # log-of-a")) << done;
  EXPECT_FALSE(Has(done, "ERROR")) << done;

  // The rebuild: the steps are CACHED.
  StartInTmux("--progress tty " + (dir_ / "par").string());
  std::string cached =
      WaitFor([](const std::string& s) { return Has(s, "KILN-EXIT="); });
  EXPECT_TRUE(Has(cached, "KILN-EXIT=0")) << cached;
  EXPECT_TRUE(Has(cached, "FINISHED")) << cached;
  EXPECT_TRUE(std::regex_search(
      cached,
      std::regex(R"( => CACHED \[a 2/2\] RUN echo log-of-a.* \d+\.\ds)")))
      << cached;
  EXPECT_TRUE(std::regex_search(
      cached,
      std::regex(R"( => CACHED \[b 2/2\] RUN echo log-of-b.* \d+\.\ds)")))
      << cached;
}

TEST_F(ProgressCliTest, TtyErrorShowsTheFailingStepAndItsLogTail) {
  if (!NeedTmux()) GTEST_SKIP() << "tmux is not installed";
  StartInTmux("--progress tty " + (dir_ / "fail").string());
  std::string done =
      WaitFor([](const std::string& s) { return Has(s, "KILN-EXIT="); });
  EXPECT_TRUE(Has(done, "KILN-EXIT=1")) << done;
  EXPECT_TRUE(Has(done, "FINISHED")) << done;
  EXPECT_TRUE(std::regex_search(
      done, std::regex(R"( => \[2/3\] RUN echo fine +\d+\.\ds)")))
      << done;
  EXPECT_TRUE(Has(done, " => ERROR [3/3] RUN echo fail-log-1")) << done;
  // The error block: the step, then its log tail.
  EXPECT_TRUE(Has(done, " > [3/3] RUN echo fail-log-1")) << done;
  EXPECT_TRUE(
      std::regex_search(done, std::regex(R"(#\d+ \d+\.\d+ fail-log-2)")))
      << done;
  EXPECT_TRUE(Has(done, "exit code: 3")) << done;
  // Only the step's error block: not again for the frontend above it.
  EXPECT_FALSE(Has(done, " > [frontend]")) << done;
}

// The first line matching `pattern` at or after `from`; npos when none.
size_t FindLine(const std::string& text, const std::string& pattern,
                size_t from = 0) {
  std::regex re(pattern);
  size_t pos = from;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    if (std::regex_match(text.substr(pos, end - pos), re)) return pos;
    pos = end + 1;
  }
  return std::string::npos;
}

// The vertex number N of the first "#N <name...>" line matching `name`.
std::string VertexNumber(const std::string& text, const std::string& name) {
  size_t at = FindLine(text, "#\\d+ " + name);
  if (at == std::string::npos) return "";
  return text.substr(at + 1, text.find(' ', at) - at - 1);
}

TEST_F(ProgressCliTest, PlainPrintsBuildKitBlocksInOrder) {
  auto build = [&](const std::string& ctx) {
    return cli_test::RunKilnIn(
        dir_,
        "--root " + Root() + " build --progress plain " + (dir_ / ctx).string(),
        "");
  };
  CliRun first = build("par");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  const std::string& out = first.err;
  for (const char* step : {R"(\[a 2/2\] RUN echo log-of-a.*)",
                           R"(\[stage-2 3/3\] COPY --from=b /b /b)"}) {
    std::string n = VertexNumber(out, step);
    ASSERT_FALSE(n.empty()) << step << "\n" << out;
    size_t start = FindLine(out, "#" + n + " " + step);
    size_t done = FindLine(out, "#" + n + R"( DONE \d+\.\ds)", start);
    EXPECT_NE(done, std::string::npos) << step << "\n" << out;
  }
  // The step's log line comes between its start and its DONE.
  std::string a = VertexNumber(out, R"(\[a 2/2\] RUN echo log-of-a.*)");
  size_t log = FindLine(out, "#" + a + R"( \d+\.\d+ log-of-a)");
  EXPECT_NE(log, std::string::npos) << out;
  EXPECT_LT(log, FindLine(out, "#" + a + R"( DONE \d+\.\ds)")) << out;

  CliRun again = build("par");
  ASSERT_EQ(again.exit_code, 0) << again.err;
  std::string b = VertexNumber(again.err, R"(\[b 2/2\] RUN echo log-of-b.*)");
  ASSERT_FALSE(b.empty()) << again.err;
  size_t start = FindLine(again.err, "#" + b + R"( \[b 2/2\] RUN.*)");
  EXPECT_NE(FindLine(again.err, "#" + b + " CACHED", start), std::string::npos)
      << again.err;

  CliRun failed = build("fail");
  EXPECT_EQ(failed.exit_code, 1);
  std::string f = VertexNumber(failed.err, R"(\[3/3\] RUN echo fail-log-1.*)");
  ASSERT_FALSE(f.empty()) << failed.err;
  size_t fstart = FindLine(failed.err, "#" + f + R"( \[3/3\] RUN.*)");
  size_t flog =
      FindLine(failed.err, "#" + f + R"( \d+\.\d+ fail-log-2)", fstart);
  size_t ferr =
      FindLine(failed.err, "#" + f + " ERROR: .*exit code: 3.*", fstart);
  EXPECT_NE(flog, std::string::npos) << failed.err;
  EXPECT_NE(ferr, std::string::npos) << failed.err;
  EXPECT_LT(flog, ferr) << failed.err;
}

}  // namespace
}  // namespace kiln
