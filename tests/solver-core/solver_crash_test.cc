// kill -9 of an engine in the middle of an exec, ten times in a row: the
// store stays consistent, the next engine cleans up after the dead one, and
// the next solve succeeds reusing what was complete.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "kiln/llb/exec.h"
#include "kiln/llb/source.h"
#include "kiln/solver/solver.h"
#include "support/solver_fixture.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

class SolverCrashTest : public testing::SolverTest {};

llb::State Sh(const llb::State& base, const std::string& script) {
  return base.Run({.args = {"/bin/sh", "-c", script}}).Root();
}

int MountsUnder(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    if (line.find(" " + dir + "/") != std::string::npos) ++n;
  }
  return n;
}

TEST_F(SolverCrashTest, KillDuringExecTenTimes) {
  llb::State fast = Sh(Busybox(), "echo fast > /fast");
  llb::State slow = Sh(fast, "sleep 3; echo slow > /slow");
  auto def = slow.Marshal();
  ASSERT_TRUE(def.ok());

  for (int round = 0; round < 10; ++round) {
    CloseEngine();
    pid_t child = testing::ForkChild([&] {
      OpenEngine();
      if (solver_ == nullptr) return 10;
      auto result = SolveDefinition(*def);
      return result.ok() ? 0 : 11;
    });
    ASSERT_GT(child, 0);
    // Round 0 also runs the fast step; then the slow one is mid-sleep.
    std::this_thread::sleep_for(std::chrono::milliseconds(round == 0 ? 2500 : 1500));
    ASSERT_EQ(kill(child, SIGKILL), 0);
    testing::WaitExitCode(child);
    ASSERT_NO_FATAL_FAILURE(OpenEngine());  // cleans up after the dead one
    EXPECT_EQ(MountsUnder(root_), 0) << "round " << round;
  }

  // Every blob still hashes to its name.
  int blobs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(
           root_ + "/content/blobs/sha256")) {
    std::string data = testing::ReadFile(entry.path().string());
    EXPECT_EQ(Digest::FromBytes(data).hex(), entry.path().filename().string());
    ++blobs;
  }
  EXPECT_GT(blobs, 0);
  // No work in progress survived, and no container is left.
  auto all = snapshots_->List();
  ASSERT_TRUE(all.ok());
  for (const SnapshotInfo& info : *all) {
    EXPECT_NE(info.kind, SnapshotKind::kActive) << info.name;
  }
  auto runc = testing::RunCommand(
      {"runc", "--root", root_ + "/executor/runtime", "list", "-q"});
  EXPECT_EQ(runc.output, "");

  // The next solve succeeds and reuses the fast step.
  auto result = SolveDefinition(*def);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_EQ(result->stats.cached, 1);
  EXPECT_EQ(result->stats.executed, 1);
  EXPECT_EQ(ReadResultFile(*result, "/fast"), "fast\n");
  EXPECT_EQ(ReadResultFile(*result, "/slow"), "slow\n");
}

}  // namespace
}  // namespace kiln::solver
