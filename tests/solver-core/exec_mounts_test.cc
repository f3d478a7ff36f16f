// Integration tests of SecretFile (tmpfs, owner, mode, cleanup; root) and
// SshForwarder (a fake agent reached through the forwarder).
#include "kiln/solver/exec_mounts.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <future>

#include "exec_mounts_test_util.h"
#include "gtest/gtest.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

using testing::EchoAgent;
using testing::Exchange;
using testing::Exists;
using testing::ReadFile;
using testing::TempDir;

std::string Parent(const std::string& path) {
  return path.substr(0, path.rfind('/'));
}

TEST(SecretFileTest, BytesOnPrivateTmpfsWithOwnerAndModeThenGone) {
  if (geteuid() != 0) KILN_SKIP_UNLESS_REQUIRED("secret tmpfs needs root");
  const std::string data = std::string("s3cr3t\0bytes\n", 13) + "tail";
  std::string path, dir;
  {
    auto secret = SecretFile::Create(data, 1234, 5678, 0640);
    ASSERT_TRUE(secret.ok()) << secret.status().ToString();
    path = (*secret)->path();
    dir = Parent(path);
    EXPECT_EQ(ReadFile(path), data);
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
    EXPECT_EQ(st.st_uid, 1234u);
    EXPECT_EQ(st.st_gid, 5678u);
    EXPECT_EQ(st.st_mode & 07777, 0640u);
    struct statfs fs {};
    ASSERT_EQ(statfs(path.c_str(), &fs), 0);
    EXPECT_EQ(static_cast<unsigned long>(fs.f_type), TMPFS_MAGIC);
    ASSERT_EQ(stat(dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 07777, 0700u);
    EXPECT_EQ(st.st_uid, 0u);
    EXPECT_TRUE(path.rfind("/run/", 0) == 0 || path.rfind("/tmp/", 0) == 0)
        << path;
    EXPECT_NE(ReadFile("/proc/self/mountinfo").find(" " + dir + " "),
              std::string::npos);
  }
  EXPECT_FALSE(Exists(path));
  EXPECT_FALSE(Exists(dir));
  EXPECT_EQ(ReadFile("/proc/self/mountinfo").find(dir), std::string::npos);
}

TEST(SecretFileTest, EmptyAndModeMasked) {
  if (geteuid() != 0) KILN_SKIP_UNLESS_REQUIRED("secret tmpfs needs root");
  auto secret = SecretFile::Create("", 0, 0, 04755);
  ASSERT_TRUE(secret.ok()) << secret.status().ToString();
  struct stat st {};
  ASSERT_EQ(stat((*secret)->path().c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
}

TEST(SecretFileTest, StaleDirectoriesOfDeadEnginesAreRemoved) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (tmpfs mounts)";
  // A live secret of this process is kept.
  auto live = SecretFile::Create("live", 0, 0, 0400);
  ASSERT_TRUE(live.ok()) << live.status().ToString();
  // A dead engine's: its pid is in the name and no longer exists.
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  ASSERT_GT(dead, 0);
  waitpid(dead, nullptr, 0);
  const std::string stale =
      "/run/kiln-secret-" + std::to_string(dead) + "-zzzzzz";
  ASSERT_EQ(mkdir(stale.c_str(), 0700), 0);
  ASSERT_EQ(mount("tmpfs", stale.c_str(), "tmpfs", 0, "size=4k"), 0);
  testing::WriteFile(stale + "/secret", "left behind");
  ASSERT_TRUE(RemoveStaleExecMountDirs().ok());
  EXPECT_FALSE(testing::Exists(stale));
  EXPECT_EQ(testing::ReadFile((*live)->path()), "live");
}

TEST(SecretFileTest, BusyMountIsDetached) {
  if (geteuid() != 0) KILN_SKIP_UNLESS_REQUIRED("secret tmpfs needs root");
  std::string dir;
  int fd = -1;
  const std::string cwd = std::filesystem::current_path().string();
  {
    auto secret = SecretFile::Create("x", 0, 0, 0400);
    ASSERT_TRUE(secret.ok()) << secret.status().ToString();
    dir = Parent((*secret)->path());
    fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY);  // keeps the tmpfs busy
    ASSERT_GE(fd, 0);
    ASSERT_EQ(fchdir(fd), 0);
  }
  EXPECT_EQ(ReadFile("/proc/self/mountinfo").find(dir), std::string::npos);
  ASSERT_EQ(chdir(cwd.c_str()), 0);
  close(fd);
  EXPECT_FALSE(Exists(dir));
}

TEST(SshForwarderTest, ForwardsConnectionsToTheAgent) {
  TempDir tmp;
  const std::string agent_path = tmp.path() + "/agent.sock";
  EchoAgent agent(agent_path);
  ASSERT_TRUE(agent.ok());
  const uint32_t uid = geteuid() == 0 ? 1000 : geteuid();
  const uint32_t gid = geteuid() == 0 ? 1001 : getegid();
  std::string path, dir;
  {
    auto fwd = SshForwarder::Start(agent_path, uid, gid, 0600);
    ASSERT_TRUE(fwd.ok()) << fwd.status().ToString();
    path = (*fwd)->socket_path();
    dir = Parent(path);
    struct stat st {};
    ASSERT_EQ(stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(st.st_uid, uid);
    EXPECT_EQ(st.st_gid, gid);
    ASSERT_EQ(stat(dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);

    EXPECT_EQ(Exchange(path, "ssh-agent request"), "ssh-agent request");
    EXPECT_EQ(Exchange(path, ""), "");
    // Large payloads both ways, several connections at once.
    std::string big(3 * 1024 * 1024 + 17, '\0');
    for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
    std::vector<std::future<std::string>> many;
    for (int i = 0; i < 4; ++i) {
      many.push_back(std::async(std::launch::async,
                                [&path, &big] { return Exchange(path, big); }));
    }
    for (auto& f : many) EXPECT_TRUE(f.get() == big);
    EXPECT_EQ(agent.connections(), 6);
  }
  EXPECT_FALSE(Exists(path));
  EXPECT_FALSE(Exists(dir));
}

TEST(SshForwarderTest, AgentGoneClosesTheConnection) {
  TempDir tmp;
  const std::string agent_path = tmp.path() + "/agent.sock";
  std::unique_ptr<SshForwarder> fwd;
  {
    EchoAgent agent(agent_path);
    auto started = SshForwarder::Start(agent_path, geteuid(), getegid(), 0600);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    fwd = std::move(*started);
  }
  unlink(agent_path.c_str());
  EXPECT_EQ(Exchange(fwd->socket_path(), "hello"), "");
}

TEST(SshForwarderTest, NotASocketIsInvalidArgument) {
  TempDir tmp;
  testing::WriteFile(tmp.path() + "/file", "x");
  for (const std::string& p : {tmp.path() + "/file", tmp.path() + "/none"}) {
    auto fwd = SshForwarder::Start(p, 0, 0, 0600);
    ASSERT_FALSE(fwd.ok());
    EXPECT_EQ(fwd.status().code(), StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace kiln::solver
