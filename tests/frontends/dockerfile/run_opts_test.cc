// The RUN-wide frontend opts (ParseRunOpts) and their effect on every RUN of
// the converted graph: add-hosts, hostname, ulimit, shm-size,
// force-network-mode.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kiln/dockerfile/convert.h"
#include "kiln/llb/definition.h"

namespace kiln::dockerfile {
namespace {

std::vector<pb::ExecOp> Execs(const ConvertResult& r) {
  std::vector<pb::ExecOp> out;
  auto loaded = llb::LoadDefinition(r.definition);
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
  if (!loaded.ok()) return out;
  for (const auto& op : loaded->ops) {
    if (op.op.has_exec()) out.push_back(op.op.exec());
  }
  return out;
}

TEST(RunOptsTest, ParsesUpstreamSyntax) {
  auto run = ParseRunOpts({{"add-hosts", "Db=10.0.0.2, v6=::1"},
                           {"hostname", "ignored"},
                           {"build-arg:BUILDKIT_SANDBOX_HOSTNAME", "box"},
                           {"ulimit", "nofile=1024:2048,nproc=64"},
                           {"shm-size", "65536"},
                           {"force-network-mode", "none"}});
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_EQ(run->extra_hosts.size(), 2u);
  EXPECT_EQ(run->extra_hosts[0].host, "db");
  EXPECT_EQ(run->extra_hosts[0].ip, "10.0.0.2");
  EXPECT_EQ(run->extra_hosts[1].ip, "::1");
  EXPECT_EQ(run->hostname, "box");
  ASSERT_EQ(run->ulimits.size(), 2u);
  EXPECT_EQ(run->ulimits[0].name, "nofile");
  EXPECT_EQ(run->ulimits[0].soft, 1024);
  EXPECT_EQ(run->ulimits[0].hard, 2048);
  EXPECT_EQ(run->ulimits[1].hard, 64);
  EXPECT_EQ(run->shm_size, 65536);
  EXPECT_EQ(run->network, llb::NetMode::kNone);
}

TEST(RunOptsTest, BadValuesNameTheOpt) {
  struct Case {
    const char* key;
    const char* value;
    const char* want;
  } cases[] = {
      {"add-hosts", "db", "opt add-hosts: invalid key-value pair db"},
      {"add-hosts", "db=300.1.1.1", "opt add-hosts: failed to parse IP"},
      {"ulimit", "nofile=a", "opt ulimit: invalid ulimit value: nofile=a"},
      {"ulimit", "nofile=9:1", "soft limit must be less than or equal"},
      {"shm-size", "64m", "opt shm-size: \"64m\" is not a size in bytes"},
      {"force-network-mode", "bridge", "invalid network mode \"bridge\""},
      {"memory", "1g", "opt memory: per-RUN resource limits are not supported"},
  };
  for (const Case& c : cases) {
    auto run = ParseRunOpts({{c.key, c.value}});
    ASSERT_FALSE(run.ok()) << c.key << "=" << c.value;
    EXPECT_NE(run.status().message().find(c.want), std::string::npos)
        << run.status().message();
  }
}

TEST(RunOptsTest, EveryRunGetsThemAndRunNetworkWins) {
  ConvertOptions o;
  o.target_platform =
      o.build_platform = {.os = "linux", .architecture = "amd64"};
  auto run = ParseRunOpts({{"add-hosts", "db=10.0.0.2"},
                           {"hostname", "box"},
                           {"ulimit", "nofile=1024"},
                           {"shm-size", "1048576"},
                           {"force-network-mode", "none"}});
  ASSERT_TRUE(run.ok());
  o.run = *run;
  auto r = Convert("FROM scratch\nRUN a\nRUN --network=host b\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::vector<pb::ExecOp> execs = Execs(*r);
  ASSERT_EQ(execs.size(), 2u);
  for (const pb::ExecOp& e : execs) {
    ASSERT_EQ(e.meta().extrahosts_size(), 1);
    EXPECT_EQ(e.meta().extrahosts(0).host(), "db");
    EXPECT_EQ(e.meta().hostname(), "box");
    ASSERT_EQ(e.meta().ulimit_size(), 1);
    EXPECT_EQ(e.meta().ulimit(0).soft(), 1024);
    bool shm = false;
    for (const pb::Mount& m : e.mounts()) {
      if (m.dest() == "/dev/shm" && m.mounttype() == pb::MountType::TMPFS) {
        shm = m.tmpfsopt().size() == 1048576;
      }
    }
    EXPECT_TRUE(shm);
  }
  std::vector<pb::NetMode> modes = {execs[0].network(), execs[1].network()};
  EXPECT_TRUE(
      (modes[0] == pb::NetMode::NONE && modes[1] == pb::NetMode::HOST) ||
      (modes[1] == pb::NetMode::NONE && modes[0] == pb::NetMode::HOST));
}

}  // namespace
}  // namespace kiln::dockerfile

namespace kiln::dockerfile {
namespace {

TEST(RunOptsTest, RunNetworkDoesNotLeakIntoTheNextRun) {
  ConvertOptions o;
  o.target_platform =
      o.build_platform = {.os = "linux", .architecture = "amd64"};
  auto r = Convert(
      "FROM scratch\nRUN --network=host --security=insecure a\nRUN b\n", o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  for (const pb::ExecOp& e : Execs(*r)) {
    const std::string& arg = e.meta().args(e.meta().args_size() - 1);
    if (arg == "b") {
      EXPECT_EQ(e.network(), pb::NetMode::UNSET);
      EXPECT_EQ(e.security(), pb::SecurityMode::SANDBOX);
    } else {
      EXPECT_EQ(e.network(), pb::NetMode::HOST);
      EXPECT_EQ(e.security(), pb::SecurityMode::INSECURE);
    }
  }
}

}  // namespace
}  // namespace kiln::dockerfile
