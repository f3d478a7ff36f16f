// Unit tests of RUN --mount spec parsing (ParseMount): every type and key,
// defaults, deferred variables, expansion and the errors.
#include <gtest/gtest.h>

#include <string>

#include "instructions_test_util.h"
#include "kiln/dockerfile/instructions.h"

namespace kiln::dockerfile {
namespace {

Mount MustMount(std::string_view spec) {
  Result<Mount> mount = ParseMount(spec);
  EXPECT_TRUE(mount.ok()) << spec << ": " << mount.status().ToString();
  return mount.ok() ? *mount : Mount{};
}

std::string MountError(std::string_view spec) {
  Result<Mount> mount = ParseMount(spec);
  EXPECT_FALSE(mount.ok()) << "accepted: " << spec;
  return mount.ok() ? "" : mount.status().message();
}

TEST(DockerfileMounts, BindDefaults) {
  Mount bind = MustMount("target=/src");
  EXPECT_EQ(bind.type, MountType::kBind);
  EXPECT_EQ(bind.target, "/src");
  EXPECT_TRUE(bind.read_only);
  EXPECT_FALSE(bind.deferred);
  EXPECT_EQ(bind.spec, "target=/src");

  Mount full = MustMount("type=BIND,from=builder,source=/out,dst=/in,rw");
  EXPECT_EQ(full.type, MountType::kBind);
  EXPECT_EQ(full.from, "builder");
  EXPECT_EQ(full.source, "/out");
  EXPECT_EQ(full.target, "/in");
  EXPECT_FALSE(full.read_only);
  EXPECT_EQ(MustMount("src=a,destination=/b,readwrite=true").source, "a");
  EXPECT_FALSE(MustMount("destination=/b,readwrite=true").read_only);
  EXPECT_TRUE(MustMount("target=/b,rw=false").read_only);
  EXPECT_FALSE(MustMount("target=/b,ro=0").read_only);
  EXPECT_TRUE(MustMount("target=/b,readonly").read_only);
  EXPECT_EQ(MustMount("Target=/K,TYPE=bind").target, "/K");  // keys any case
}

TEST(DockerfileMounts, Cache) {
  Mount cache = MustMount(
      "type=cache,target=/root/.cache,id=go,sharing=LOCKED,mode=0700,uid=1000,"
      "gid=100,from=base,source=/seed");
  EXPECT_EQ(cache.type, MountType::kCache);
  EXPECT_FALSE(cache.read_only);  // cache defaults to writable
  EXPECT_EQ(cache.id, "go");
  EXPECT_EQ(cache.sharing, std::optional<MountSharing>(MountSharing::kLocked));
  EXPECT_EQ(cache.mode, std::optional<uint32_t>(0700));
  EXPECT_EQ(cache.uid, std::optional<uint32_t>(1000));
  EXPECT_EQ(cache.gid, std::optional<uint32_t>(100));
  EXPECT_EQ(cache.from, "base");
  EXPECT_EQ(cache.source, "/seed");
  EXPECT_EQ(MustMount("type=cache,target=/c,sharing=private").sharing,
            std::optional<MountSharing>(MountSharing::kPrivate));
  EXPECT_FALSE(MustMount("type=cache,target=/c").sharing.has_value());
  EXPECT_TRUE(MustMount("type=cache,target=/c,ro").read_only);
  EXPECT_EQ(MountSharingName(MountSharing::kShared), "shared");
  EXPECT_EQ(MountTypeName(MountType::kSsh), "ssh");
}

TEST(DockerfileMounts, TmpfsSecretSsh) {
  Mount tmpfs = MustMount("type=tmpfs,target=/t,size=64m");
  EXPECT_EQ(tmpfs.type, MountType::kTmpfs);
  EXPECT_FALSE(tmpfs.read_only);
  EXPECT_EQ(tmpfs.size_limit, 64 * 1024 * 1024);
  EXPECT_EQ(MustMount("type=tmpfs,target=/t,size=1.5KiB").size_limit, 1536);
  EXPECT_EQ(MustMount("type=tmpfs,target=/t,size=100").size_limit, 100);

  Mount secret = MustMount(
      "type=secret,id=token,target=/run/t,required=true,mode=0440,uid=1,gid=2");
  EXPECT_EQ(secret.type, MountType::kSecret);
  EXPECT_EQ(secret.id, "token");
  EXPECT_TRUE(secret.required);
  EXPECT_TRUE(secret.read_only);
  EXPECT_EQ(secret.mode, std::optional<uint32_t>(0440));
  Mount env = MustMount("type=secret,id=aws,env=AWS_KEY");
  EXPECT_EQ(env.env, std::optional<std::string>("AWS_KEY"));
  EXPECT_TRUE(MustMount("type=secret,src=npmrc,required").required);
  EXPECT_EQ(MustMount("type=secret,env=ONLY").env,
            std::optional<std::string>("ONLY"));

  Mount ssh =
      MustMount("type=ssh,id=github,target=/s.sock,required=false,mode=0600");
  EXPECT_EQ(ssh.type, MountType::kSsh);
  EXPECT_EQ(ssh.id, "github");
  EXPECT_FALSE(ssh.required);
  EXPECT_TRUE(MustMount("type=ssh").read_only);
}

TEST(DockerfileMounts, CsvQuoting) {
  Mount quoted = MustMount("type=bind,\"target=/a,b\",\"source=x\"\"y\"");
  EXPECT_EQ(quoted.target, "/a,b");
  EXPECT_EQ(quoted.source, "x\"y");
  EXPECT_EQ(MountError("target=/a\"b"),
            "failed to parse csv mounts: bare \" in non-quoted-field");
  EXPECT_EQ(MountError("\"target=/a"),
            "failed to parse csv mounts: extraneous or missing \" in "
            "quoted-field");
  EXPECT_EQ(MountError(""), "failed to parse csv mounts: EOF");
}

TEST(DockerfileMounts, Errors) {
  EXPECT_EQ(MountError("type=bnd,target=/x"),
            "unsupported mount type \"bnd\" (did you mean bind?)");
  EXPECT_EQ(MountError("type=volume,target=/x"),
            "unsupported mount type \"volume\"");
  EXPECT_EQ(MountError("type=cache,target=/x,sharing=shard"),
            "unsupported sharing value \"shard\" (did you mean shared?)");
  EXPECT_EQ(MountError("targt=/x"),
            "unexpected key 'targt' in 'targt=/x' (did you mean target?)");
  EXPECT_EQ(MountError("bogus=1"), "unexpected key 'bogus' in 'bogus=1'");
  EXPECT_EQ(MountError("target=/x,weird"),
            "invalid field 'weird' must be a key=value pair");
  EXPECT_EQ(MountError("target=/x,ro=maybe"), "invalid value for ro: maybe");
  EXPECT_EQ(MountError("target=/x,rw=2"), "invalid value for rw: 2");
  EXPECT_EQ(MountError("type=cache,target=/x,mode=0800"),
            "invalid value 0800 for mode");
  EXPECT_EQ(MountError("type=cache,target=/x,uid=-1"),
            "invalid value -1 for uid");
  EXPECT_EQ(MountError("type=cache,target=/x,gid=4294967296"),
            "invalid value 4294967296 for gid");
  EXPECT_EQ(MountError("target=/x,mode=0644"),
            "mode not allowed for \"bind\" type mounts");
  EXPECT_EQ(MountError("type=tmpfs,target=/x,uid=0"),
            "uid not allowed for \"tmpfs\" type mounts");
  EXPECT_EQ(MountError("type=tmpfs,target=/x,gid=0"),
            "gid not allowed for \"tmpfs\" type mounts");
  EXPECT_EQ(MountError("type=tmpfs,target=/x,size=lots"),
            "invalid value for size: lots");
  EXPECT_EQ(MountError("target=/x,size=1m"),
            "unexpected key 'size' for mount type 'bind'");
  EXPECT_EQ(MountError("type=cache,target=/x,required"),
            "unexpected key 'required' for mount type 'cache'");
  EXPECT_EQ(MountError("type=bind,target=/x,required=true"),
            "unexpected key 'required' for mount type 'bind'");
  EXPECT_EQ(MountError("type=secret,id=a,required=yes"),
            "invalid value for required: yes");
  EXPECT_EQ(MountError("type=cache,target=/x,env=A"),
            "unexpected key 'env' for mount type 'cache'");
  EXPECT_EQ(MountError("type=secret,id=a,from=x"),
            "secret mount should not have a from");
  EXPECT_EQ(MountError("type=secret,id=a,sharing=shared"),
            "secret mount should not define sharing");
  EXPECT_EQ(MountError("type=secret"),
            "invalid secret mount: one of source, target, id or env required");
  EXPECT_EQ(MountError("type=secret,source=a,id=b"),
            "both source and id can't be set");
  EXPECT_EQ(MountError("type=tmpfs,target=/x,sharing=locked"),
            "invalid cache sharing set for tmpfs mount");
  EXPECT_EQ(MountError("target=/x,from=$STAGE"),
            "'from' doesn't support variable expansion, define alias stage "
            "instead");
}

TEST(DockerfileMounts, DeferredAndExpanded) {
  Mount deferred = MustMount("type=cache,target=$DIR,uid=$UID,mode=0700");
  EXPECT_TRUE(deferred.deferred);
  EXPECT_EQ(deferred.target, "$DIR");  // raw for the converter
  EXPECT_FALSE(deferred.uid.has_value());
  EXPECT_EQ(deferred.mode, std::optional<uint32_t>(0700));
  // The type itself is a variable: type-specific checks wait for expansion.
  EXPECT_TRUE(MustMount("type=$T,target=/x,required,size=1m").deferred);
  // Unknown keys are rejected even with a variable value.
  EXPECT_EQ(MountError("tgt=$X"),
            "unexpected key 'tgt' in 'tgt=$X' (did you mean dst?)");

  const MountValueExpander expand =
      [](std::string_view value) -> Result<std::string> {
    std::string out(value);
    if (out == "$UID") return std::string("42");
    if (out == "$DIR") return std::string("/cache");
    if (out == "$BAD") return InvalidArgumentError("bad substitution");
    return out;
  };
  Result<Mount> expanded =
      ParseMount("type=cache,target=$DIR,uid=$UID,from=$", &expand);
  ASSERT_TRUE(expanded.ok()) << expanded.status().ToString();
  EXPECT_FALSE(expanded->deferred);
  EXPECT_EQ(expanded->target, "/cache");
  EXPECT_EQ(expanded->uid, std::optional<uint32_t>(42));
  EXPECT_EQ(expanded->from, "$");  // a lone `$` is no variable
  Result<Mount> failed = ParseMount("target=$BAD", &expand);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().message(), "bad substitution");
}

TEST(DockerfileMounts, OnRunInstruction) {
  RunCommand run = testing_util::MustCommand<RunCommand>(
      "RUN --mount=type=secret,id=npm,target=/root/.npmrc "
      "--mount=type=ssh --mount=type=bind,from=src,target=/src,rw npm ci\n");
  ASSERT_EQ(run.mounts.size(), 3u);
  EXPECT_EQ(run.mounts[0].type, MountType::kSecret);
  EXPECT_EQ(run.mounts[1].type, MountType::kSsh);
  EXPECT_FALSE(run.mounts[2].read_only);
  EXPECT_EQ(run.mounts[2].spec, "type=bind,from=src,target=/src,rw");
  EXPECT_EQ(
      testing_util::MessageOf("RUN --mount=type=cache,target=/c,mode=9 x\n"),
      "invalid value 9 for mode: "
      "\"RUN --mount=type=cache,target=/c,mode=9 x\"");
}

}  // namespace
}  // namespace kiln::dockerfile
