// Exec ops: process context, mounts, outputs and caps as the Go client
// (client/llb/exec.go) writes them.
#include "kiln/llb/exec.h"

#include <gtest/gtest.h>

#include "graph_util.h"
#include "kiln/llb/source.h"

namespace kiln::llb {
namespace {

using testing::Graph;
using testing::MarshalError;
using testing::MarshalOk;

State Base() { return Image("busybox"); }
const pb::ExecOp& Exec(const Graph& g) { return g.Result().exec(); }

TEST(Exec, ProcessContext) {
  State s = Base()
                .AddEnv("A", "1")
                .AddEnv("B", "2")
                .AddEnv("A", "3")  // replaced, moved to the end
                .Dir("/work")
                .Dir("sub")  // relative: joined
                .User("app")
                .Hostname("box");
  Graph g = MarshalOk(s.Run({.args = {"/bin/sh", "-c", "true"}}));
  const pb::Meta& m = Exec(g).meta();
  EXPECT_EQ(std::vector<std::string>(m.args().begin(), m.args().end()),
            (std::vector<std::string>{"/bin/sh", "-c", "true"}));
  EXPECT_EQ(std::vector<std::string>(m.env().begin(), m.env().end()),
            (std::vector<std::string>{"B=2", "A=3"}));
  EXPECT_EQ(m.cwd(), "/work/sub");
  EXPECT_EQ(m.user(), "app");
  EXPECT_EQ(m.hostname(), "box");
  EXPECT_TRUE(m.removemountstubsrecursive());
  EXPECT_EQ(g.Result().platform().architecture(), "amd64");
  EXPECT_TRUE(g.HasCap(1, "exec.meta.base"));
  EXPECT_TRUE(g.HasCap(1, "exec.mount.bind"));
  EXPECT_FALSE(
      g.HasCap(1, "exec.meta.setsdefaultpath"));  // no engine caps given
}

TEST(Exec, RunOptionsApplyToTheExecOnly) {
  ExecState e = Base().AddEnv("A", "1").Dir("/x").Run(
      {.args = {"true"},
       .env = {{"B", "2"}},
       .cwd = "y",
       .user = "u",
       .hostname = "h",
       .network = NetMode::kHost,
       .extra_hosts = {HostIP{"db", "10.0.0.2"}}});
  Graph g = MarshalOk(e);
  const pb::Meta& m = Exec(g).meta();
  EXPECT_EQ(m.env_size(), 2);
  EXPECT_EQ(m.cwd(), "/x/y");
  EXPECT_EQ(m.user(), "u");
  EXPECT_EQ(m.hostname(), "h");
  EXPECT_EQ(m.extrahosts_size(), 1);
  EXPECT_EQ(Exec(g).network(), pb::NetMode::HOST);
  // As in the Go client, the result keeps the context of the state Run was
  // called on: a later exec gets none of this one's options.
  EXPECT_EQ(e.GetEnv("B"), std::nullopt);
  EXPECT_EQ(e.GetEnv("A"), "1");
  EXPECT_EQ(e.GetDir(), "/x");
  EXPECT_EQ(e.GetUser(), "");
  Graph next = MarshalOk(e.Run({.args = {"next"}}));
  const pb::ExecOp* later = nullptr;
  for (const pb::Op& op : next.ops) {
    if (op.has_exec() && op.exec().meta().args(0) == "next") {
      later = &op.exec();
    }
  }
  ASSERT_NE(later, nullptr);
  EXPECT_EQ(later->network(), pb::NetMode::UNSET);
  EXPECT_EQ(later->meta().extrahosts_size(), 0);
  EXPECT_EQ(later->meta().hostname(), "");
}

TEST(Exec, DefaultPathDependsOnEngineCaps) {
  caps::CapSet old_engine = caps::DefaultEngineCaps();  // lacks setsdefaultpath
  MarshalOptions o = testing::Amd64();
  o.engine_caps = &old_engine;
  Graph g = MarshalOk(Base().Run({.args = {"true"}}), o);
  ASSERT_EQ(Exec(g).meta().env_size(), 1);
  EXPECT_EQ(
      Exec(g).meta().env(0),
      "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  Graph kept =
      MarshalOk(Base().AddEnv("PATH", "/bin").Run({.args = {"true"}}), o);
  EXPECT_EQ(Exec(kept).meta().env(0), "PATH=/bin");

  o.engine_caps = &caps::AllLlbCaps();
  Graph modern = MarshalOk(Base().Run({.args = {"true"}}), o);
  EXPECT_EQ(Exec(modern).meta().env_size(), 0);
  EXPECT_TRUE(modern.HasCap(1, "exec.meta.setsdefaultpath"));
}

TEST(Exec, MountsSortedOutputsNumbered) {
  State ctx = Local("context");
  RunOptions r{.args = {"make"}};
  r.mounts.push_back(Mount::Bind("/z-out", Scratch()));
  r.mounts.push_back(Mount::Bind("/src", ctx).Readonly().Selector("app"));
  r.mounts.push_back(Mount::Cache("/cache", "go", CacheSharing::kPrivate));
  r.mounts.push_back(Mount::Tmpfs("/tmp", 1 << 20));
  r.mounts.push_back(Mount::Bind("/a-out", ctx));
  r.mounts.push_back(Mount::Bind("/scratch", ctx).NoOutput());
  ExecState e = Base().Run(r);
  Graph g = MarshalOk(e);
  const pb::ExecOp& x = Exec(g);
  std::vector<std::string> dests;
  for (const auto& m : x.mounts()) dests.push_back(m.dest());
  EXPECT_EQ(dests,
            (std::vector<std::string>{"/", "/a-out", "/cache", "/scratch",
                                      "/src", "/tmp", "/z-out"}));
  // Inputs: root, then the context once (used by three mounts).
  ASSERT_EQ(g.Result().inputs_size(), 2);
  const auto& m = x.mounts();
  EXPECT_EQ(m[0].input(), 0);
  EXPECT_EQ(m[0].output(), 0);
  EXPECT_EQ(m[1].input(), 1);
  EXPECT_EQ(m[1].output(), 1);  // writable bind
  EXPECT_EQ(m[2].mounttype(), pb::CACHE);
  EXPECT_EQ(m[2].input(), -1);
  EXPECT_EQ(m[2].output(), -1);
  EXPECT_EQ(m[2].cacheopt().id(), "go");
  EXPECT_EQ(m[2].cacheopt().sharing(), pb::PRIVATE);
  EXPECT_EQ(m[3].input(), 1);
  EXPECT_EQ(m[3].output(), -1);  // no-output
  EXPECT_FALSE(m[3].readonly());
  EXPECT_TRUE(m[4].readonly());
  EXPECT_EQ(m[4].output(), -1);
  EXPECT_EQ(m[4].selector(), "app");
  EXPECT_EQ(m[5].mounttype(), pb::TMPFS);
  EXPECT_EQ(m[5].input(), -1);
  EXPECT_EQ(m[5].tmpfsopt().size(), 1 << 20);
  EXPECT_EQ(m[6].input(), -1);  // scratch bind
  EXPECT_EQ(m[6].output(), 2);
  testing::ExpectCaps(
      g, 2,
      {"exec.mount.bind", "exec.mount.cache", "exec.mount.cache.sharing",
       "exec.mount.selector", "exec.mount.tmpfs", "exec.mount.tmpfs.size"});

  // Outputs of other mounts are addressable.
  auto out = e.GetMount("/z-out");
  ASSERT_TRUE(out.ok());
  Graph og = MarshalOk(*out);
  ASSERT_EQ(og.ops.back().inputs_size(), 1);
  EXPECT_EQ(og.ops.back().inputs(0).index(), 2);
  EXPECT_EQ(e.GetMount("/src").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(e.GetMount("/cache").status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(e.GetMount("/nope").status().code(), StatusCode::kNotFound);
}

TEST(Exec, TmpfsAlwaysHasOptions) {
  RunOptions r{.args = {"true"}};
  r.mounts.push_back(Mount::Tmpfs("/t"));
  Graph g = MarshalOk(Base().Run(r));
  const pb::Mount& m = Exec(g).mounts(1);
  EXPECT_TRUE(m.has_tmpfsopt());
  EXPECT_EQ(m.tmpfsopt().size(), 0);
  EXPECT_FALSE(g.HasCap(1, "exec.mount.tmpfs.size"));
}

TEST(Exec, SecretsAndSsh) {
  RunOptions r{.args = {"true"}};
  r.secrets.push_back({.dest = "/run/secrets/a"});
  r.secrets.push_back({.id = "tok", .env = "TOKEN", .optional = true});
  r.secrets.push_back({.id = "both",
                       .dest = "/b",
                       .env = "B",
                       .uid = 1,
                       .gid = 2,
                       .mode = 0440});
  r.ssh.push_back({});
  r.ssh.push_back({.id = "work", .dest = "/ssh", .mode = 0666});
  Graph g = MarshalOk(Base().Run(r));
  const pb::ExecOp& x = Exec(g);
  // Root, then file secrets in order, then ssh sockets.
  ASSERT_EQ(x.mounts_size(), 5);
  const pb::Mount& a = x.mounts(1);
  EXPECT_EQ(a.mounttype(), pb::SECRET);
  EXPECT_EQ(a.input(), -1);
  EXPECT_EQ(a.dest(), "/run/secrets/a");
  EXPECT_EQ(a.secretopt().id(),
            "/run/secrets/a");  // id defaults to the destination
  EXPECT_EQ(a.secretopt().mode(), 0400u);
  const pb::Mount& b = x.mounts(2);
  EXPECT_EQ(b.secretopt().id(), "both");
  EXPECT_EQ(b.secretopt().uid(), 1u);
  EXPECT_EQ(b.secretopt().gid(), 2u);
  EXPECT_EQ(b.secretopt().mode(), 0440u);
  ASSERT_EQ(x.secretenv_size(), 2);
  EXPECT_EQ(x.secretenv(0).id(), "tok");
  EXPECT_EQ(x.secretenv(0).name(), "TOKEN");
  EXPECT_TRUE(x.secretenv(0).optional());
  EXPECT_EQ(x.secretenv(1).name(), "B");
  const pb::Mount& s0 = x.mounts(3);
  EXPECT_EQ(s0.mounttype(), pb::SSH);
  EXPECT_EQ(s0.dest(), "/run/buildkit/ssh_agent.0");
  EXPECT_EQ(s0.sshopt().mode(), 0600u);
  EXPECT_EQ(s0.input(), -1);
  EXPECT_EQ(x.mounts(4).dest(), "/ssh");
  EXPECT_EQ(x.mounts(4).sshopt().id(), "work");
  // The first agent becomes SSH_AUTH_SOCK.
  ASSERT_EQ(x.meta().env_size(), 1);
  EXPECT_EQ(x.meta().env(0), "SSH_AUTH_SOCK=/run/buildkit/ssh_agent.0");
  testing::ExpectCaps(
      g, 1, {"exec.mount.secret", "exec.secretenv", "exec.mount.ssh"});
}

TEST(Exec, NetworkSecurityAndMeta) {
  State s = Base()
                .Network(NetMode::kNone)
                .Security(SecurityMode::kInsecure)
                .AddExtraHost("db", "10.0.0.2")
                .AddUlimit("nofile", 1024, 2048)
                .WithCgroupParent("kiln.slice");
  RunOptions r{.args = {"true"}};
  r.proxy_env =
      ProxyEnv{.http_proxy = "http://p:3128", .no_proxy = "localhost"};
  r.valid_exit_codes = {0, 1};
  r.cdi_devices = {{.name = "nvidia.com/gpu=all", .optional = true}};
  r.linux_resources = LinuxResources{.memory = 1 << 30, .cpu_quota = 50000};
  Graph g = MarshalOk(s.Run(r));
  const pb::ExecOp& x = Exec(g);
  EXPECT_EQ(x.network(), pb::NONE);
  EXPECT_EQ(x.security(), pb::INSECURE);
  ASSERT_EQ(x.meta().extrahosts_size(), 1);
  EXPECT_EQ(x.meta().extrahosts(0).host(), "db");
  EXPECT_EQ(x.meta().extrahosts(0).ip(), "10.0.0.2");
  ASSERT_EQ(x.meta().ulimit_size(), 1);
  EXPECT_EQ(x.meta().ulimit(0).name(), "nofile");
  EXPECT_EQ(x.meta().ulimit(0).soft(), 1024);
  EXPECT_EQ(x.meta().ulimit(0).hard(), 2048);
  EXPECT_EQ(x.meta().cgroupparent(), "kiln.slice");
  EXPECT_EQ(x.meta().proxy_env().http_proxy(), "http://p:3128");
  EXPECT_EQ(x.meta().proxy_env().no_proxy(), "localhost");
  EXPECT_EQ(std::vector<int>(x.meta().validexitcodes().begin(),
                             x.meta().validexitcodes().end()),
            (std::vector<int>{0, 1}));
  ASSERT_EQ(x.cdidevices_size(), 1);
  EXPECT_EQ(x.cdidevices(0).name(), "nvidia.com/gpu=all");
  // Resource limits live in metadata, not in the op (nor its digest).
  EXPECT_EQ(g.ResultMetadata().linux_resources().memory(), 1 << 30);
  EXPECT_EQ(g.ResultMetadata().linux_resources().cpuquota(), 50000);
  testing::ExpectCaps(
      g, 1,
      {"exec.meta.network", "exec.meta.security", "exec.meta.ulimit",
       "exec.meta.cgroup.parent", "exec.meta.proxyenv", "exec.validexitcode",
       "exec.meta.cdi", "exec.meta.linux.resources"});
  EXPECT_EQ(MarshalOk(Base().Network(NetMode::kHost).Run({.args = {"x"}}))
                .Result()
                .exec()
                .network(),
            pb::HOST);
}

TEST(Exec, ReadonlyRootfs) {
  State base = Base();
  ExecState e = base.Run({.args = {"true"},
                          .readonly_rootfs = true,
                          .mounts = {Mount::Bind("/out", Scratch())}});
  // The root is not an output: the result's root is the input root.
  EXPECT_EQ(MarshalOk(e.Root()).digests, MarshalOk(base).digests);
  auto out = e.GetMount("/out");
  ASSERT_TRUE(out.ok());
  Graph g = MarshalOk(*out);
  const pb::ExecOp& x = Exec(g);
  EXPECT_TRUE(x.mounts(0).readonly());
  EXPECT_EQ(x.mounts(0).output(), -1);
  EXPECT_EQ(x.mounts(1).output(), 0);
  EXPECT_EQ(g.ops.back().inputs(0).index(), 0);
}

TEST(Exec, InvalidRunsFailAtMarshal) {
  EXPECT_NE(MarshalError(Base().Run({})).message().find("argument"),
            std::string::npos);
  RunOptions rel{.args = {"true"}};
  rel.mounts.push_back(Mount::Bind("relative", Scratch()));
  EXPECT_NE(MarshalError(Base().Run(rel)).message().find("absolute"),
            std::string::npos);
  RunOptions dup{.args = {"true"}};
  dup.mounts.push_back(Mount::Tmpfs("/t"));
  dup.mounts.push_back(Mount::Tmpfs("/t"));
  EXPECT_EQ(MarshalError(Base().Run(dup)).code(), StatusCode::kInvalidArgument);
  RunOptions no_id{.args = {"true"}};
  no_id.mounts.push_back(Mount::Cache("/c", ""));
  EXPECT_NE(MarshalError(Base().Run(no_id)).message().find("id"),
            std::string::npos);
}

TEST(Shlex, SplitsLikeSh) {
  auto words = Shlex(R"(echo "a b" 'c d' e\ f "g\"h")");
  ASSERT_TRUE(words.ok());
  EXPECT_EQ(*words,
            (std::vector<std::string>{"echo", "a b", "c d", "e f", "g\"h"}));
  EXPECT_FALSE(Shlex("echo 'open").ok());
  EXPECT_TRUE(Shlex("   ")->empty());
}

}  // namespace
}  // namespace kiln::llb
