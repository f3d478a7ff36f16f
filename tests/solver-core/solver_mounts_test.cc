// Exec mounts and process settings through the Solver with real runc: cache
// mounts (persistence, locking), tmpfs, read-only bind mounts with a
// selector, network modes and the network.host entitlement, users, ulimits,
// extra hosts, valid exit codes and ssh agent sockets.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "kiln/llb/exec.h"
#include "kiln/solver/secret_providers.h"
#include "support/solver_fixture.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using testing::ReadFile;

class SolverMountsTest : public testing::SolverTest {};

llb::State Sh(const llb::State& base, const std::string& script,
              std::vector<llb::Mount> mounts = {}) {
  return base
      .Run({.args = {"/bin/sh", "-c", script}, .mounts = std::move(mounts)})
      .Root();
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

TEST_F(SolverMountsTest, CacheMountPersistsAcrossSolvesAndReopen) {
  auto first =
      Solve(Sh(Busybox(), "echo a >> /cache/log; wc -l < /cache/log > /n1",
               {llb::Mount::Cache("/cache", "persist")}));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_EQ(ReadResultFile(*first, "/n1"), "1\n");
  CloseEngine();
  ASSERT_NO_FATAL_FAILURE(OpenEngine());
  auto second =
      Solve(Sh(Busybox(), "echo b >> /cache/log; cat /cache/log > /seen",
               {llb::Mount::Cache("/cache", "persist")}));
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_EQ(ReadResultFile(*second, "/seen"), "a\nb\n");
  EXPECT_EQ(Tree(*first).count("cache/log"), 0u);
  EXPECT_EQ(Tree(*second).count("cache/log"), 0u);
}

TEST_F(SolverMountsTest, LockedCacheSerializesConcurrentSolves) {
  auto run = [&](const std::string& name) {
    return Sh(
        Busybox(),
        "echo start-" + name +
            " $(date +%s.%N) >> /cache/log; sleep 1; "
            "echo end-" +
            name +
            " $(date +%s.%N) >> /cache/log; "
            "cp /cache/log /seen",
        {llb::Mount::Cache("/cache", "locked", llb::CacheSharing::kLocked)});
  };
  Result<SolveResult> a = InternalError("not run"),
                      b = InternalError("not run");
  auto start = std::chrono::steady_clock::now();
  std::thread ta([&] { a = Solve(run("a")); });
  std::thread tb([&] { b = Solve(run("b")); });
  ta.join();
  tb.join();
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count();
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  // The later one saw all four lines, never interleaved.
  std::vector<std::string> la = Lines(ReadResultFile(*a, "/seen"));
  std::vector<std::string> lb = Lines(ReadResultFile(*b, "/seen"));
  const std::vector<std::string>& full = la.size() > lb.size() ? la : lb;
  ASSERT_EQ(full.size(), 4u) << ReadResultFile(*a, "/seen") << "--\n"
                             << ReadResultFile(*b, "/seen");
  auto word = [](const std::string& l) { return l.substr(0, l.find(' ')); };
  auto time = [](const std::string& l) {
    return std::stod(l.substr(l.find(' ') + 1));
  };
  const std::string first = word(full[0]).substr(6);  // "start-X"
  EXPECT_EQ(word(full[1]), "end-" + first);
  EXPECT_EQ(word(full[2]).substr(0, 6), "start-");
  EXPECT_NE(word(full[2]).substr(6), first);
  // Timestamps: the second started after the first ended.
  EXPECT_GE(time(full[2]), time(full[1]));
  EXPECT_GE(seconds, 2.0);
  std::printf("two locked 1 s execs: %.2f s\n", seconds);
}

TEST_F(SolverMountsTest, TmpfsContentIsNotInTheResult) {
  auto r = Solve(Sh(Busybox(),
                    "touch /scratch/x; grep ' /scratch ' /proc/mounts > /m",
                    {llb::Mount::Tmpfs("/scratch")}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_THAT(ReadResultFile(*r, "/m"), HasSubstr("tmpfs"));
  EXPECT_EQ(Tree(*r).count("scratch/x"), 0u);
}

TEST_F(SolverMountsTest, ReadonlyBindWithSelectorOfAnotherExec) {
  llb::State producer = Sh(Busybox(),
                           "mkdir -p /out/sub; echo inner > /out/sub/f; "
                           "echo outer > /out/top");
  auto r = Solve(
      Sh(Busybox(),
         "cat /in/f > /got; ls /in > /ls; "
         "if touch /in/new 2>/dev/null; then echo rw; else echo ro; fi > /w",
         {llb::Mount::Bind("/in", producer).Readonly().Selector("/out/sub")}));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadResultFile(*r, "/got"), "inner\n");
  EXPECT_EQ(ReadResultFile(*r, "/ls"), "f\n");
  EXPECT_EQ(ReadResultFile(*r, "/w"), "ro\n");
  EXPECT_EQ(r->stats.executed, 2);
}

TEST_F(SolverMountsTest, NetworkNoneAndHostNeedsEntitlement) {
  auto none =
      Solve(Busybox()
                .Run({.args = {"/bin/sh", "-c", "cat /proc/net/dev > /dev.txt"},
                      .network = llb::NetMode::kNone})
                .Root());
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  std::string dev = ReadResultFile(*none, "/dev.txt");
  EXPECT_THAT(dev, HasSubstr("lo:"));
  EXPECT_THAT(dev, Not(HasSubstr("eth0")));

  llb::State host =
      Busybox()
          .Run({.args = {"/bin/sh", "-c", "cat /proc/net/dev > /dev.txt"},
                .network = llb::NetMode::kHost})
          .Root();
  auto denied = Solve(host);
  ASSERT_FALSE(denied.ok());
  EXPECT_THAT(denied.status().message(), HasSubstr("network.host"));

  SolveRequest request;
  request.entitlements = {"network.host"};
  auto granted = Solve(host, request);
  ASSERT_TRUE(granted.ok()) << granted.status().ToString();
  // The host's interfaces, every one of them.
  std::string inside = ReadResultFile(*granted, "/dev.txt");
  for (const std::string& line : Lines(ReadFile("/proc/net/dev"))) {
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    name.erase(0, name.find_first_not_of(' '));
    EXPECT_THAT(inside, HasSubstr(name + ":"));
  }
}

TEST_F(SolverMountsTest, UserByNameAndByIds) {
  auto named = Solve(
      Busybox()
          .Run({.args = {"/bin/sh", "-c", "id > /tmp/id"}, .user = "nobody"})
          .Root());
  ASSERT_TRUE(named.ok()) << named.status().ToString();
  EXPECT_THAT(ReadResultFile(*named, "/tmp/id"),
              HasSubstr("uid=65534(nobody)"));
  auto ids = Solve(
      Busybox()
          .Run({.args = {"/bin/sh", "-c", "echo $(id -u):$(id -g) > /tmp/id"},
                .user = "1000:1000"})
          .Root());
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  EXPECT_EQ(ReadResultFile(*ids, "/tmp/id"), "1000:1000\n");
}

TEST_F(SolverMountsTest, UlimitAndExtraHosts) {
  auto r = Solve(Busybox()
                     .Run({.args = {"/bin/sh", "-c",
                                    "ulimit -n > /nofile; ulimit -Hn > /hard; "
                                    "cat /etc/hosts > /hosts"},
                           .extra_hosts = {{"kiln-extra", "10.1.2.3"}},
                           .ulimits = {{"nofile", 1234, 2345}}})
                     .Root());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadResultFile(*r, "/nofile"), "1234\n");
  EXPECT_EQ(ReadResultFile(*r, "/hard"), "2345\n");
  bool found = false;
  for (const std::string& line : Lines(ReadResultFile(*r, "/hosts"))) {
    if (line.find("10.1.2.3") == 0 &&
        line.find("kiln-extra") != std::string::npos) {
      found = true;
    }
  }
  EXPECT_TRUE(found) << ReadResultFile(*r, "/hosts");
}

TEST_F(SolverMountsTest, ValidExitCodes) {
  auto ok = Solve(Busybox()
                      .Run({.args = {"/bin/sh", "-c", "echo x > /f; exit 3"},
                            .valid_exit_codes = {0, 3}})
                      .Root());
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ReadResultFile(*ok, "/f"), "x\n");
  auto bad = Solve(Busybox()
                       .Run({.args = {"/bin/sh", "-c", "echo x > /f; exit 4"},
                             .valid_exit_codes = {0, 3}})
                       .Root());
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("exit code: 4"));
}

// A listening unix socket standing in for an ssh agent. busybox nc cannot
// speak unix sockets, so the exec only checks the forwarded socket.
class FakeAgent {
 public:
  explicit FakeAgent(const std::string& path) {
    fd_ = socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path.c_str());
    ok_ = fd_ >= 0 &&
          bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
          listen(fd_, 4) == 0;
  }
  ~FakeAgent() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return ok_; }

 private:
  int fd_ = -1;
  bool ok_ = false;
};

TEST_F(SolverMountsTest, SshMountForwardsAnAgentSocket) {
  testing::TempDir dir("kiln-agent");
  const std::string path = dir.path() + "/agent.sock";
  FakeAgent agent(path);
  ASSERT_TRUE(agent.ok()) << strerror(errno);
  MapSshProvider ssh;
  Status added = ssh.Add({.id = "default", .paths = {path}});
  ASSERT_TRUE(added.ok()) << added.ToString();
  SolveRequest request;
  request.ssh = &ssh;
  auto r = Solve(Busybox()
                     .Run({.args = {"/bin/sh", "-c",
                                    "stat -c '%F %a' /run/agent.sock > /st; "
                                    "echo $SSH_AUTH_SOCK > /env"},
                           .ssh = {{.dest = "/run/agent.sock"}}})
                     .Root(),
                 request);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadResultFile(*r, "/st"), "socket 600\n");
  EXPECT_EQ(ReadResultFile(*r, "/env"), "/run/agent.sock\n");
  EXPECT_EQ(Tree(*r).count("run/agent.sock"), 0u);

  // Without a provider the mount fails clearly.
  auto missing = Solve(Busybox()
                           .Run({.args = {"/bin/sh", "-c", "true"},
                                 .ssh = {{.dest = "/run/agent.sock"}}})
                           .Root());
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), HasSubstr("ssh"));
}

}  // namespace
}  // namespace kiln::solver
