// Unit tests of the executor's pure parts: user lookup (files and a fake
// rootfs), config.json generation and the generated /etc files.
#include "kiln/solver/executor.h"

#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "gtest/gtest.h"
#include "kiln/solver/user_lookup.h"
#include "support/test_util.h"

namespace kiln::solver {

void PrintTo(const ExecUser& u, std::ostream* os) {
  *os << "{uid " << u.uid << " gid " << u.gid << " extra [";
  for (uint32_t g : u.additional_gids) *os << g << " ";
  *os << "] home " << u.home << "}";
}

namespace {

using testing::TempDir;
using testing::WriteFile;

const char kPasswd[] =
    "# comment\n"
    "root:x:0:0:root:/root:/bin/sh\n"
    "broken:x:notanumber:0::/:/bin/sh\n"
    "builder:x:1000:1001:Builder:/home/builder:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const char kGroup[] =
    "root:x:0:\n"
    "wheel:x:10:root,builder\n"
    "builder:x:1001:\n"
    "docker:x:999:alice,builder\n"
    "nogroup:x:65534:\n";

ExecUser User(uint32_t uid, uint32_t gid, std::vector<uint32_t> extra,
              std::string home) {
  return ExecUser{uid, gid, std::move(extra), std::move(home)};
}

TEST(UserLookupTest, NameGivesPasswdEntryAndMemberships) {
  auto u = ResolveUserFromFiles("builder", kPasswd, kGroup);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(*u, User(1000, 1001, {10, 999}, "/home/builder"));
}

TEST(UserLookupTest, NumericUidWithEntryAlsoGetsMemberships) {
  auto u = ResolveUserFromFiles("1000", kPasswd, kGroup);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(*u, User(1000, 1001, {10, 999}, "/home/builder"));
}

TEST(UserLookupTest, EmptyIsRoot) {
  auto u = ResolveUserFromFiles("", kPasswd, kGroup);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(*u, User(0, 0, {10}, "/root"));
}

TEST(UserLookupTest, NumericUidWithoutEntryIsGidZero) {
  auto u = ResolveUserFromFiles("4242", kPasswd, kGroup);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(*u, User(4242, 0, {}, "/"));
  auto no_files = ResolveUserFromFiles("7", std::nullopt, std::nullopt);
  ASSERT_TRUE(no_files.ok()) << no_files.status().ToString();
  EXPECT_EQ(*no_files, User(7, 0, {}, "/"));
}

TEST(UserLookupTest, ExplicitGroupReplacesGidAndDropsMemberships) {
  auto by_name = ResolveUserFromFiles("builder:docker", kPasswd, kGroup);
  ASSERT_TRUE(by_name.ok()) << by_name.status().ToString();
  EXPECT_EQ(*by_name, User(1000, 999, {}, "/home/builder"));
  auto by_id = ResolveUserFromFiles("4242:4343", kPasswd, kGroup);
  ASSERT_TRUE(by_id.ok()) << by_id.status().ToString();
  EXPECT_EQ(*by_id, User(4242, 4343, {}, "/"));
  auto mixed = ResolveUserFromFiles("1000:nogroup", kPasswd, kGroup);
  ASSERT_TRUE(mixed.ok()) << mixed.status().ToString();
  EXPECT_EQ(*mixed, User(1000, 65534, {}, "/home/builder"));
}

TEST(UserLookupTest, UnknownNamesAreNotFoundNamingUserAndFile) {
  auto u = ResolveUserFromFiles("alice", kPasswd, kGroup);
  ASSERT_FALSE(u.ok());
  EXPECT_EQ(u.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(u.status().message(),
            "unable to find user alice: no matching entries in /etc/passwd");
  auto g = ResolveUserFromFiles("builder:staff", kPasswd, kGroup);
  ASSERT_FALSE(g.ok());
  EXPECT_EQ(g.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(g.status().message(),
            "unable to find group staff: no matching entries in /etc/group");
  auto no_passwd = ResolveUserFromFiles("root", std::nullopt, kGroup);
  EXPECT_EQ(no_passwd.status().code(), StatusCode::kNotFound);
}

TEST(UserLookupTest, MalformedSpecsAreInvalid) {
  for (const char* bad :
       {"a:b:c", "builder:", ":10", "99999999999", "1:3000000000"}) {
    auto u = ResolveUserFromFiles(bad, kPasswd, kGroup);
    ASSERT_FALSE(u.ok()) << bad;
    EXPECT_EQ(u.status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

TEST(UserLookupTest, ReadsFilesFromRootfs) {
  TempDir dir;
  WriteFile(dir.path() + "/etc/passwd", kPasswd);
  WriteFile(dir.path() + "/etc/group", kGroup);
  auto u = ResolveUser(dir.path(), "builder");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(*u, User(1000, 1001, {10, 999}, "/home/builder"));
}

TEST(UserLookupTest, SymlinksResolveInsideRootfs) {
  // The rootfs's /etc is an absolute link to a directory that exists on the
  // host too (/etc): it must be read as <rootfs>/etc2/..., never /etc.
  TempDir dir;
  WriteFile(dir.path() + "/real/passwd", "zed:x:77:78::/z:/bin/sh\n");
  ASSERT_EQ(symlink("/real", (dir.path() + "/etc").c_str()), 0);
  // group: a relative link climbing above the root stays inside it.
  WriteFile(dir.path() + "/g/group", "zgroup:x:500:zed\n");
  ASSERT_EQ(
      symlink("../../../../../g/group", (dir.path() + "/real/group").c_str()),
      0);
  auto u = ResolveUser(dir.path(), "zed");
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(*u, User(77, 78, {500}, "/z"));
  // root exists in the host's /etc/passwd but not in this rootfs.
  auto root = ResolveUser(dir.path(), "root");
  EXPECT_EQ(root.status().code(), StatusCode::kNotFound);
}

TEST(UserLookupTest, MissingFilesAndRootfs) {
  TempDir dir;
  auto numeric = ResolveUser(dir.path(), "12:34");
  ASSERT_TRUE(numeric.ok()) << numeric.status().ToString();
  EXPECT_EQ(*numeric, User(12, 34, {}, "/"));
  EXPECT_EQ(ResolveUser(dir.path(), "root").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(ResolveUser(dir.path() + "/missing", "0").status().code(),
            StatusCode::kNotFound);
}

nlohmann::json Config(const ExecSpec& spec, const ExecUser& user) {
  auto text = RuncConfigJson(spec, user, "/b/hosts", "/b/resolv.conf");
  EXPECT_TRUE(text.ok()) << text.status().ToString();
  if (!text.ok()) return {};
  return nlohmann::json::parse(*text);
}

TEST(RuncConfigTest, ProcessFields) {
  ExecSpec spec;
  spec.args = {"/bin/sh", "-c", "echo hi"};
  spec.env = {"FOO=bar"};
  spec.cwd = "/work";
  spec.hostname = "box";
  spec.readonly_rootfs = true;
  spec.ulimits = {{"nofile", 100, 200}, {"nproc", 5, 6}};
  auto c = Config(spec, User(1000, 1001, {10, 999}, "/home/b"));
  const auto& p = c["process"];
  EXPECT_EQ(p["args"], nlohmann::json({"/bin/sh", "-c", "echo hi"}));
  EXPECT_EQ(p["env"], nlohmann::json({"PATH=/usr/local/sbin:/usr/local/bin:"
                                      "/usr/sbin:/usr/bin:/sbin:/bin",
                                      "FOO=bar"}));
  EXPECT_EQ(p["cwd"], "/work");
  EXPECT_EQ(p["terminal"], false);
  EXPECT_EQ(p["user"]["uid"], 1000);
  EXPECT_EQ(p["user"]["gid"], 1001);
  EXPECT_EQ(p["user"]["additionalGids"], nlohmann::json({10, 999}));
  EXPECT_EQ(p["rlimits"],
            nlohmann::json::parse(
                R"([{"type":"RLIMIT_NOFILE","soft":100,"hard":200},
                    {"type":"RLIMIT_NPROC","soft":5,"hard":6}])"));
  EXPECT_EQ(c["root"],
            nlohmann::json::parse(R"({"path":"rootfs","readonly":true})"));
  EXPECT_EQ(c["hostname"], "box");
}

TEST(RuncConfigTest, PathKeptAndDefaultNofile) {
  ExecSpec spec;
  spec.args = {"true"};
  spec.env = {"PATH=/x"};
  auto c = Config(spec, User(0, 0, {}, "/"));
  EXPECT_EQ(c["process"]["env"], nlohmann::json({"PATH=/x"}));
  EXPECT_EQ(c["process"]["rlimits"],
            nlohmann::json::parse(
                R"([{"type":"RLIMIT_NOFILE","soft":1024,"hard":1024}])"));
  EXPECT_EQ(c["root"]["readonly"], false);
}

TEST(RuncConfigTest, UnknownUlimitIsInvalid) {
  ExecSpec spec;
  spec.args = {"true"};
  spec.ulimits = {{"bogus", 1, 1}};
  auto text = RuncConfigJson(spec, ExecUser{}, "/h", "/r");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(text.status().message().find("bogus"), std::string::npos);
}

// kiln run -t: the terminal flag reaches process.terminal; builds never set
// it.
TEST(RuncConfigTest, TerminalOnlyWhenAsked) {
  ExecSpec spec;
  spec.args = {"sh"};
  EXPECT_EQ(Config(spec, ExecUser{})["process"]["terminal"], false);
  spec.terminal = true;
  EXPECT_EQ(Config(spec, ExecUser{})["process"]["terminal"], true);
}

std::vector<std::string> NamespaceTypes(const nlohmann::json& c) {
  std::vector<std::string> out;
  for (const auto& ns : c["linux"]["namespaces"]) out.push_back(ns["type"]);
  return out;
}

TEST(RuncConfigTest, NetworkNamespaceOnlyForNone) {
  ExecSpec spec;
  spec.args = {"true"};
  spec.network = NetworkMode::kNone;
  auto none = NamespaceTypes(Config(spec, ExecUser{}));
  EXPECT_EQ(none, (std::vector<std::string>{"pid", "ipc", "uts", "mount",
                                            "network"}));
  spec.network = NetworkMode::kHost;
  auto host = NamespaceTypes(Config(spec, ExecUser{}));
  EXPECT_EQ(host, (std::vector<std::string>{"pid", "ipc", "uts", "mount"}));
}

TEST(RuncConfigTest, MountsSortedWithEtcFilesAndOptions) {
  ExecSpec spec;
  spec.args = {"true"};
  spec.mounts = {
      {"/z/data", Mount{"bind", "/host/data", {}}, true},
      {"/cache", Mount{"bind", "/host/cache", {"rbind", "rw"}}, false},
      {"/tmp/x", TmpfsMount(1 << 20), false},
      {"/a", Mount{"overlay", "overlay", {"lowerdir=/l1:/l2"}}, true},
  };
  auto c = Config(spec, ExecUser{});
  std::vector<std::string> dests;
  for (const auto& m : c["mounts"]) dests.push_back(m["destination"]);
  EXPECT_EQ(dests,
            (std::vector<std::string>{"/proc", "/dev", "/dev/pts", "/dev/shm",
                                      "/dev/mqueue", "/sys", "/sys/fs/cgroup",
                                      "/etc/hosts", "/etc/resolv.conf", "/a",
                                      "/cache", "/tmp/x", "/z/data"}));
  const auto& m = c["mounts"];
  EXPECT_EQ(m[7], nlohmann::json::parse(
                      R"({"destination":"/etc/hosts","type":"bind",
                          "source":"/b/hosts","options":["rbind","ro","nosuid"]})"));
  EXPECT_EQ(m[8]["source"], "/b/resolv.conf");
  EXPECT_EQ(m[9]["options"], nlohmann::json({"lowerdir=/l1:/l2", "ro"}));
  EXPECT_EQ(m[10]["options"], nlohmann::json({"rbind", "rw"}));
  EXPECT_EQ(m[11], nlohmann::json::parse(
                       R"({"destination":"/tmp/x","type":"tmpfs",
                           "source":"tmpfs","options":["nosuid","nodev","size=1048576"]})"));
  EXPECT_EQ(m[12]["options"], nlohmann::json({"rbind", "ro"}));
}

TEST(EtcFilesTest, Hosts) {
  EXPECT_EQ(HostsFileContent("box", {{"db", "10.0.0.2"}, {"cache", "::5"}}),
            "127.0.0.1\tlocalhost box\n"
            "::1\tlocalhost ip6-localhost ip6-loopback\n"
            "10.0.0.2\tdb\n"
            "::5\tcache\n");
}

TEST(EtcFilesTest, ResolvConfDropsLoopbackUnlessHostNetwork) {
  const char host[] =
      "search example.com\nnameserver 127.0.0.53\nnameserver 10.0.0.1\n";
  EXPECT_EQ(ResolvConfContent(host, NetworkMode::kNone),
            "search example.com\nnameserver 10.0.0.1\n");
  EXPECT_EQ(ResolvConfContent(host, NetworkMode::kHost), host);
  EXPECT_EQ(ResolvConfContent("nameserver 127.0.0.1\n", NetworkMode::kNone),
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
  EXPECT_EQ(ResolvConfContent("", NetworkMode::kNone),
            "nameserver 8.8.8.8\nnameserver 8.8.4.4\n");
}

}  // namespace
}  // namespace kiln::solver
