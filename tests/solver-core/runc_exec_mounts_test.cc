// Integration tests of RuncExecutor with secret and SSH mounts, and of the
// cleanup of a run whose engine was killed: real runc, a busybox rootfs on
// copy snapshots, root only.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "exec_mounts_test_util.h"
#include "gtest/gtest.h"
#include "kiln/solver/exec_mounts.h"
#include "kiln/solver/executor.h"
#include "kiln/solver/snapshotter.h"
#include "support/engine_setup.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

using testing::Exists;
using testing::ReadFile;
using testing::RunCommand;
using testing::TempDir;
using testing::WriteFile;

class RuncExecMountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (std::string missing = testing::RuncRequirementsMissing();
        !missing.empty()) {
      KILN_SKIP_UNLESS_REQUIRED("runc executor: " + missing);
    }
    auto snap = OpenSnapshotter(dir_.path() + "/snap", SnapshotterKind::kCopy);
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    snap_ = std::move(*snap);
    Status base = testing::CommitBusyboxSnapshot(
        *snap_, "base", [this](const std::string& tree) {
          if (!testing::HaveProgram("cc")) return;
          WriteFile(dir_.path() + "/sockclient.c", testing::kSockClientSource);
          auto cc = RunCommand({"cc", "-static", "-O1", "-o",
                                tree + "/bin/sockclient",
                                dir_.path() + "/sockclient.c"});
          have_client_ = cc.exit_code == 0;
          EXPECT_TRUE(have_client_) << cc.output;
        });
    ASSERT_TRUE(base.ok()) << base.ToString();
    state_ = dir_.path() + "/exec";
    auto exec = RuncExecutor::Create({.state_dir = state_});
    ASSERT_TRUE(exec.ok()) << exec.status().ToString();
    exec_ = std::move(*exec);
  }

  void TearDown() override {
    if (exec_ == nullptr) return;
    EXPECT_TRUE(std::filesystem::is_empty(state_ + "/bundles"));
    EXPECT_EQ(RunningContainers(), "");
    EXPECT_EQ(ReadFile("/proc/self/mountinfo").find(state_), std::string::npos);
  }

  std::string RunningContainers() {
    auto list = RunCommand(
        {"runc", "--root", exec_->runtime_root(), "list", "-q"}, false);
    EXPECT_EQ(list.exit_code, 0);
    return list.output;
  }

  ExecSpec Shell(const std::string& key, const std::string& script) {
    EXPECT_TRUE(snap_->Prepare(key, "base").ok());
    auto mounts = snap_->Mounts(key);
    EXPECT_TRUE(mounts.ok()) << mounts.status().ToString();
    ExecSpec spec;
    if (mounts.ok()) spec.rootfs = *mounts;
    spec.args = {"/bin/sh", "-c", script};
    return spec;
  }

  // Runs `spec`: stdout, or "<error: ...>".
  std::string Output(ExecSpec spec) {
    std::string out, err;
    spec.log = [&](int stream, std::string_view data,
                   std::chrono::system_clock::time_point) {
      (stream == 1 ? out : err).append(data);
    };
    auto r = exec_->Run(spec, {});
    if (!r.ok()) return "<error: " + r.status().ToString() + err + ">";
    return out;
  }

  // Whether any regular file under `root` contains `needle`.
  static bool TreeContains(const std::string& root, const std::string& needle) {
    std::error_code ec;
    for (auto it = std::filesystem::recursive_directory_iterator(
             root, std::filesystem::directory_options::skip_permission_denied,
             ec);
         it != std::filesystem::recursive_directory_iterator();
         it.increment(ec)) {
      if (ec) break;
      if (it->is_regular_file(ec) && !it->is_symlink(ec) &&
          ReadFile(it->path().string()).find(needle) != std::string::npos) {
        return true;
      }
    }
    return false;
  }

  TempDir dir_{"kiln-runc-mounts-"};
  std::unique_ptr<Snapshotter> snap_;
  std::string state_;
  std::unique_ptr<RuncExecutor> exec_;
  bool have_client_ = false;
};

TEST_F(RuncExecMountsTest, SecretFileAndSshForwarderInsideTheContainer) {
  const std::string needle = "kiln-secret-" + std::to_string(getpid()) + "-" +
                             std::to_string(time(nullptr));
  auto secret = SecretFile::Create(needle + "\n", 1000, 1000, 0400);
  ASSERT_TRUE(secret.ok()) << secret.status().ToString();
  TempDir agent_dir;
  testing::EchoAgent agent(agent_dir.path() + "/agent.sock");
  ASSERT_TRUE(agent.ok());
  auto fwd =
      SshForwarder::Start(agent_dir.path() + "/agent.sock", 1000, 1000, 0600);
  ASSERT_TRUE(fwd.ok()) << fwd.status().ToString();
  const std::vector<ExecMount> mounts = {
      {"/run/secrets/token", Mount{"bind", (*secret)->path(), {"rbind"}}, true},
      {"/run/buildkit/ssh_agent.0",
       Mount{"bind", (*fwd)->socket_path(), {"rbind"}}, false}};

  std::string script =
      "cat /run/secrets/token; stat -c '%u %g %a' /run/secrets/token; "
      "stat -c '%u %g %a %F' /run/buildkit/ssh_agent.0";
  if (have_client_) {
    script += "; /bin/sockclient /run/buildkit/ssh_agent.0 agent-hello; echo";
  }
  ExecSpec user = Shell("as-builder", script);
  user.user = "builder";
  user.mounts = mounts;
  std::string expected = needle + "\n1000 1000 400\n1000 1000 600 socket\n";
  if (have_client_) expected += "agent-hello\n";
  EXPECT_EQ(Output(user), expected);
  if (have_client_) {
    EXPECT_EQ(agent.connections(), 1);
  }

  // Read-only even for root, who could otherwise ignore the mode.
  ExecSpec root = Shell("as-root",
                        "echo more >> /run/secrets/token 2>/dev/null && "
                        "echo WROTE || echo RO; cat /run/secrets/token");
  root.mounts = mounts;
  EXPECT_EQ(Output(root), "RO\n" + needle + "\n");
  EXPECT_EQ(ReadFile((*secret)->path()), needle + "\n");

  // The bytes never reached the engine's state or the snapshots.
  EXPECT_FALSE(TreeContains(dir_.path(), needle));
}

TEST_F(RuncExecMountsTest, CreateCleansUpAfterAnEngineKilledMidRun) {
  ExecSpec spec = Shell("stale", "sleep 60");
  TempDir bind;
  WriteFile(bind.path() + "/keep", "kept");
  spec.mounts = {{"/data", Mount{"bind", bind.path(), {"rbind"}}, false}};
  pid_t engine = testing::ForkChild([&] {
    auto r = exec_->Run(spec, {});
    return r.ok() ? 0 : 1;
  });
  ASSERT_GT(engine, 0);
  // Wait until the container runs.
  bool running = false;
  for (int i = 0; i < 200 && !running; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto state =
        RunCommand({"runc", "--root", exec_->runtime_root(), "list"}, false);
    running = state.output.find("running") != std::string::npos;
  }
  ASSERT_TRUE(running) << "the container never started";
  ASSERT_EQ(kill(engine, SIGKILL), 0);
  EXPECT_EQ(testing::WaitExitCode(engine), -1);  // killed

  // What the dead engine left: a live container, its mounts, its bundle.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_NE(RunningContainers(), "");
  EXPECT_NE(ReadFile("/proc/self/mountinfo").find(state_ + "/bundles/"),
            std::string::npos);
  EXPECT_FALSE(std::filesystem::is_empty(state_ + "/bundles"));

  auto again = RuncExecutor::Create({.state_dir = state_});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(RunningContainers(), "");
  EXPECT_EQ(ReadFile("/proc/self/mountinfo").find(state_ + "/bundles"),
            std::string::npos);
  EXPECT_TRUE(std::filesystem::is_empty(state_ + "/bundles"));
  // A bind source is never deleted through.
  EXPECT_EQ(ReadFile(bind.path() + "/keep"), "kept");

  // The new executor works on the same state dir.
  exec_ = std::move(*again);
  EXPECT_EQ(Output(Shell("after", "echo ok")), "ok\n");
}

}  // namespace
}  // namespace kiln::solver
