// Integration tests of RuncExecutor: real runc, a busybox rootfs on
// overlay snapshots (copy when overlay is unusable), root only.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "gtest/gtest.h"
#include "kiln/solver/executor.h"
#include "kiln/solver/snapshotter.h"
#include "support/engine_setup.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

using testing::Exists;
using testing::ReadFile;
using testing::RunCommand;
using testing::RunShell;
using testing::TempDir;
using testing::WriteFile;

struct Captured {
  Result<ExecResult> result = InternalError("not run");
  std::string out;
  std::string err;
};

class RuncExecutorTest : public ::testing::TestWithParam<SnapshotterKind> {
 protected:
  void SetUp() override {
    if (std::string missing = testing::RuncRequirementsMissing();
        !missing.empty()) {
      KILN_SKIP_UNLESS_REQUIRED("runc executor: " + missing);
    }
    auto snap = OpenSnapshotter(dir_.path() + "/snap", GetParam());
    if (!snap.ok() && GetParam() == SnapshotterKind::kOverlay) {
      KILN_SKIP_UNLESS_REQUIRED("overlay snapshotter unusable: " +
                                snap.status().ToString());
    }
    ASSERT_TRUE(snap.ok()) << snap.status().ToString();
    snap_ = std::move(*snap);
    Status base = testing::CommitBusyboxSnapshot(*snap_, "base");
    ASSERT_TRUE(base.ok()) << base.ToString();
    state_ = dir_.path() + "/exec";
    auto exec = RuncExecutor::Create({.state_dir = state_});
    ASSERT_TRUE(exec.ok()) << exec.status().ToString();
    exec_ = std::move(*exec);
  }

  void TearDown() override {
    if (exec_ == nullptr) return;
    // Nothing may outlive a run: no bundle, no container, no mount.
    EXPECT_TRUE(std::filesystem::is_empty(state_ + "/bundles"));
    auto list = RunCommand(
        {"runc", "--root", exec_->runtime_root(), "list", "-q"}, false);
    EXPECT_EQ(list.exit_code, 0);
    EXPECT_EQ(list.output, "");
    EXPECT_EQ(ReadFile("/proc/self/mountinfo").find(state_), std::string::npos);
  }

  // A fresh active snapshot on the base: its mounts, and its upper/tree dir.
  std::vector<Mount> Rootfs(const std::string& key,
                            std::string* tree = nullptr) {
    auto dir = snap_->Prepare(key, "base");
    EXPECT_TRUE(dir.ok()) << dir.status().ToString();
    if (tree != nullptr && dir.ok()) *tree = *dir;
    auto mounts = snap_->Mounts(key);
    EXPECT_TRUE(mounts.ok()) << mounts.status().ToString();
    return mounts.ok() ? *mounts : std::vector<Mount>{};
  }

  ExecSpec Shell(const std::string& key, const std::string& script) {
    ExecSpec spec;
    spec.rootfs = Rootfs(key);
    spec.args = {"/bin/sh", "-c", script};
    return spec;
  }

  Captured Run(ExecSpec spec, std::stop_token stop = {}) {
    Captured c;
    spec.log = [&c](int stream, std::string_view data,
                    std::chrono::system_clock::time_point) {
      (stream == 1 ? c.out : c.err).append(data);
    };
    c.result = exec_->Run(spec, stop);
    return c;
  }

  TempDir dir_{"kiln-runc-"};
  std::unique_ptr<Snapshotter> snap_;
  std::string state_;
  std::unique_ptr<RuncExecutor> exec_;
};

TEST_P(RuncExecutorTest, FailedProcessReportsCommandExitCodeAndOutputTail) {
  ExecSpec spec;
  spec.rootfs = Rootfs("fail");
  spec.args = {"/bin/busybox", "sh", "-c", "echo hi; echo err >&2; exit 3"};
  Captured c = Run(spec);
  ASSERT_FALSE(c.result.ok());
  EXPECT_EQ(c.result.status().code(), StatusCode::kUnknown);
  const std::string& msg = c.result.status().message();
  EXPECT_NE(msg.find("process \"/bin/busybox sh -c echo hi; echo err >&2; "
                     "exit 3\" did not complete successfully: exit code: 3"),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("hi"), std::string::npos) << msg;
  EXPECT_NE(msg.find("err"), std::string::npos) << msg;
  EXPECT_EQ(c.out, "hi\n");
  EXPECT_EQ(c.err, "err\n");
}

TEST_P(RuncExecutorTest, ValidExitCodesAndTailIsLastLines) {
  ExecSpec spec = Shell("codes", "exit 3");
  spec.valid_exit_codes = {0, 3};
  Captured ok = Run(spec);
  ASSERT_TRUE(ok.result.ok()) << ok.result.status().ToString();
  EXPECT_EQ(ok.result->exit_code, 3);

  Captured many = Run(Shell("many", "seq 1 100; exit 1"));
  ASSERT_FALSE(many.result.ok());
  const std::string& msg = many.result.status().message();
  EXPECT_NE(msg.find("\n81\n"), std::string::npos) << msg;
  EXPECT_NE(msg.find("\n100"), std::string::npos) << msg;
  EXPECT_EQ(msg.find("\n80\n"), std::string::npos) << msg;
}

TEST_P(RuncExecutorTest, EnvCwdAndUserFromPasswd) {
  ExecSpec spec =
      Shell("user", "id -u; id -g; id -G; pwd; echo $FOO; echo $HOME");
  spec.env = {"FOO=bar baz"};
  spec.cwd = "/tmp";
  spec.user = "builder";
  Captured c = Run(spec);
  ASSERT_TRUE(c.result.ok()) << c.result.status().ToString() << c.err;
  EXPECT_EQ(c.out, "1000\n1000\n1000 2000\n/tmp\nbar baz\n/home/builder\n");

  ExecSpec numeric = Shell("numeric", "id -u; id -g");
  numeric.user = "4242:55";
  Captured n = Run(numeric);
  ASSERT_TRUE(n.result.ok()) << n.result.status().ToString() << n.err;
  EXPECT_EQ(n.out, "4242\n55\n");

  ExecSpec unknown = Shell("unknown", "true");
  unknown.user = "alice";
  Captured u = Run(unknown);
  ASSERT_FALSE(u.result.ok());
  EXPECT_EQ(u.result.status().code(), StatusCode::kNotFound);
  EXPECT_NE(u.result.status().message().find("alice"), std::string::npos);
}

TEST_P(RuncExecutorTest, NetworkNoneHasOnlyLoopback) {
  Captured none = Run(Shell("netnone", "ls /sys/class/net"));
  ASSERT_TRUE(none.result.ok()) << none.result.status().ToString() << none.err;
  EXPECT_EQ(none.out, "lo\n");

  ExecSpec host = Shell("nethost", "ls /sys/class/net");
  host.network = NetworkMode::kHost;
  Captured h = Run(host);
  ASSERT_TRUE(h.result.ok()) << h.result.status().ToString() << h.err;
  auto expected = RunShell("ls /sys/class/net");
  EXPECT_EQ(h.out, expected.output);
}

TEST_P(RuncExecutorTest, StdioFdIsStdinAndStdoutAndLogSeesStderrOnly) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  const std::string input = "over the socket\nsecond line\n";
  ASSERT_EQ(write(sv[0], input.data(), input.size()),
            static_cast<ssize_t>(input.size()));
  ASSERT_EQ(shutdown(sv[0], SHUT_WR), 0);  // cat sees EOF after the input
  ExecSpec spec = Shell("stdio", "echo to-stderr >&2; cat; echo done");
  spec.stdio_fd = sv[1];
  Captured c = Run(spec);
  close(sv[1]);
  std::string echoed;
  char buf[4096];
  for (ssize_t n; (n = read(sv[0], buf, sizeof(buf))) > 0;)
    echoed.append(buf, n);
  close(sv[0]);
  ASSERT_TRUE(c.result.ok()) << c.result.status().ToString() << c.err;
  EXPECT_EQ(echoed, input + "done\n");
  EXPECT_EQ(c.out, "");  // stdout went to the socket, not the sink
  EXPECT_EQ(c.err, "to-stderr\n");

  // A failure's output tail holds stderr only.
  int sv2[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv2), 0);
  ExecSpec fail =
      Shell("stdiofail", "echo secret-out; echo visible >&2; exit 4");
  fail.stdio_fd = sv2[1];
  Captured f = Run(fail);
  close(sv2[1]);
  close(sv2[0]);
  ASSERT_FALSE(f.result.ok());
  const std::string& msg = f.result.status().message();
  EXPECT_NE(msg.find("exit code: 4"), std::string::npos) << msg;
  size_t tail = msg.find("output (last lines):");
  ASSERT_NE(tail, std::string::npos) << msg;
  EXPECT_EQ(msg.substr(tail), "output (last lines):\nvisible") << msg;
}

TEST_P(RuncExecutorTest, HostnameAndExtraHosts) {
  ExecSpec spec = Shell("hosts", "hostname; cat /etc/hosts");
  spec.hostname = "kilnbox";
  spec.extra_hosts = {{"registry.test", "10.1.2.3"}};
  Captured c = Run(spec);
  ASSERT_TRUE(c.result.ok()) << c.result.status().ToString() << c.err;
  EXPECT_EQ(c.out, "kilnbox\n" + HostsFileContent("kilnbox", spec.extra_hosts));
  EXPECT_NE(c.out.find("10.1.2.3\tregistry.test\n"), std::string::npos);
}

TEST_P(RuncExecutorTest, ReadonlyAndWritableBinds) {
  TempDir ro, rw;
  WriteFile(ro.path() + "/in.txt", "from host\n");
  ExecSpec spec = Shell("binds",
                        "cat /in/in.txt; "
                        "if touch /in/new 2>/dev/null; then echo WROTE; fi; "
                        "echo out > /out/result.txt");
  spec.mounts = {{"/in", Mount{"bind", ro.path(), {"rbind"}}, true},
                 {"/out", Mount{"bind", rw.path(), {"rbind"}}, false}};
  Captured c = Run(spec);
  ASSERT_TRUE(c.result.ok()) << c.result.status().ToString() << c.err;
  EXPECT_EQ(c.out, "from host\n");
  EXPECT_FALSE(Exists(ro.path() + "/new"));
  EXPECT_EQ(ReadFile(rw.path() + "/result.txt"), "out\n");
}

TEST_P(RuncExecutorTest, TmpfsWithSize) {
  ExecSpec spec = Shell("tmpfs",
                        "grep ' /scratch ' /proc/mounts | cut -d' ' -f3; "
                        "echo x > /scratch/f && cat /scratch/f; "
                        "dd if=/dev/zero of=/scratch/big bs=1024 count=2048 "
                        "2>/dev/null || echo FULL");
  spec.mounts = {{"/scratch", TmpfsMount(1 << 20), false}};
  Captured c = Run(spec);
  ASSERT_TRUE(c.result.ok()) << c.result.status().ToString() << c.err;
  EXPECT_EQ(c.out, "tmpfs\nx\nFULL\n");
}

TEST_P(RuncExecutorTest, WritableRootfsKeepsFilesAndRemovesStubs) {
  std::string tree;
  ExecSpec spec;
  spec.rootfs = Rootfs("rw", &tree);
  spec.args = {"/bin/sh", "-c",
               "echo data > /root/out.txt; echo k > /mnt/keep"};
  spec.mounts = {{"/mnt/a/b", TmpfsMount(0), false},
                 {"/opt/x", TmpfsMount(0), false}};
  Captured c = Run(spec);
  ASSERT_TRUE(c.result.ok()) << c.result.status().ToString() << c.err;
  EXPECT_EQ(ReadFile(tree + "/root/out.txt"), "data\n");
  EXPECT_EQ(ReadFile(tree + "/mnt/keep"), "k\n");
  // Stubs the base did not have are gone; /mnt stays (the process wrote in
  // it), its empty stub child a/ does not.
  for (const char* gone : {"/proc", "/dev", "/sys", "/etc/hosts",
                           "/etc/resolv.conf", "/mnt/a", "/opt"}) {
    EXPECT_FALSE(Exists(tree + gone)) << gone;
  }
}

TEST_P(RuncExecutorTest, ReadonlyRootfsCannotBeWritten) {
  ExecSpec spec = Shell("rofs", "touch /root/x 2>/dev/null || echo RO");
  spec.readonly_rootfs = true;
  Captured c = Run(spec);
  ASSERT_TRUE(c.result.ok()) << c.result.status().ToString() << c.err;
  EXPECT_EQ(c.out, "RO\n");
}

TEST_P(RuncExecutorTest, LargeOutputDoesNotDeadlock) {
  ExecSpec spec =
      Shell("big", "head -c 4000000 /dev/zero; head -c 3000000 /dev/zero >&2");
  Captured c = Run(spec);
  ASSERT_TRUE(c.result.ok()) << c.result.status().ToString();
  EXPECT_EQ(c.out.size(), 4000000u);
  EXPECT_EQ(c.err.size(), 3000000u);
}

TEST_P(RuncExecutorTest, CancelKillsAndCleansUp) {
  std::stop_source stop;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    stop.request_stop();
  });
  auto start = std::chrono::steady_clock::now();
  Captured c = Run(Shell("cancel", "sleep 100"), stop.get_token());
  auto elapsed = std::chrono::steady_clock::now() - start;
  canceller.join();
  ASSERT_FALSE(c.result.ok());
  EXPECT_EQ(c.result.status().code(), StatusCode::kCancelled);
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  std::printf(
      "cancel of sleep 100 returned %.0f ms after the start (stop "
      "requested at 500 ms)\n",
      std::chrono::duration<double, std::milli>(elapsed).count());
  // TearDown checks runc list, mountinfo and the bundles dir.
}

TEST_P(RuncExecutorTest, StartToExitOfTrue) {
  std::vector<double> ms;
  for (int i = 0; i < 5; ++i) {
    ExecSpec spec;
    spec.rootfs = Rootfs("true" + std::to_string(i));
    spec.args = {"true"};
    auto start = std::chrono::steady_clock::now();
    Captured c = Run(spec);
    auto total = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(c.result.ok()) << c.result.status().ToString();
    ms.push_back(std::chrono::duration<double, std::milli>(total).count());
    std::printf(
        "true: runtime %.1f ms, whole Run %.1f ms\n",
        std::chrono::duration<double, std::milli>(c.result->duration).count(),
        ms.back());
  }
  std::sort(ms.begin(), ms.end());
  RecordProperty("true_run_median_ms", std::to_string(ms[2]));
  std::printf("median whole Run of `true`: %.1f ms\n", ms[2]);
}

INSTANTIATE_TEST_SUITE_P(
    Snapshotters, RuncExecutorTest,
    ::testing::Values(SnapshotterKind::kOverlay, SnapshotterKind::kCopy),
    [](const ::testing::TestParamInfo<SnapshotterKind>& info) {
      return std::string(SnapshotterKindName(info.param));
    });

}  // namespace
}  // namespace kiln::solver
