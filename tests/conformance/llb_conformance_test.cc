// Upstream BuildKit v0.11.6 Definitions (../shared/conformance/llb): kiln must
// decode, dump and re-marshal them exactly, and its builder must produce the
// same ops for the same build.
#include <filesystem>
#include <fstream>
#include <sstream>

#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "kiln/llb/definition.h"
#include "kiln/llb/dump.h"
#include "kiln/llb/encoding.h"
#include "kiln/llb/exec.h"
#include "kiln/llb/file.h"
#include "kiln/llb/source.h"
#include "kiln/llb/state.h"

namespace kiln::llb {
namespace {

namespace fs = std::filesystem;
using google::protobuf::util::MessageDifferencer;

fs::path CasesDir() { return fs::path(KILN_SHARED_DIR) / "conformance" / "llb"; }

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> Cases() {
  std::vector<std::string> names;
  if (!fs::exists(CasesDir())) return names;
  for (const auto& e : fs::directory_iterator(CasesDir())) {
    if (fs::exists(e.path() / "llb.pb")) names.push_back(e.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

LoadedDefinition LoadCase(const std::string& name) {
  auto def = ParseDefinition(ReadFile(CasesDir() / name / "llb.pb"));
  EXPECT_TRUE(def.ok()) << def.status().ToString();
  auto loaded = LoadDefinition(*def);
  EXPECT_TRUE(loaded.ok()) << loaded.status().ToString();
  return std::move(loaded).value();
}

TEST(LlbConformance, DataIsPresent) {
  // Loud failure rather than a silently empty parameterized suite.
  ASSERT_TRUE(fs::exists(CasesDir())) << "missing " << CasesDir();
  EXPECT_GE(Cases().size(), 5u);
}

class LlbCase : public ::testing::TestWithParam<std::string> {};

TEST_P(LlbCase, DumpEqualsUpstreamJson) {
  LoadedDefinition def = LoadCase(GetParam());
  std::string dump = DumpJsonLines(def);
  std::string expected = ReadFile(CasesDir() / GetParam() / "llb.jsonl");

  std::istringstream got_lines(dump), want_lines(expected);
  std::string got, want;
  int n = 0;
  while (std::getline(want_lines, want)) {
    ASSERT_TRUE(std::getline(got_lines, got)) << "dump has fewer lines than llb.jsonl";
    EXPECT_EQ(nlohmann::json::parse(got), nlohmann::json::parse(want)) << "line " << n;
    ++n;
  }
  EXPECT_FALSE(std::getline(got_lines, got)) << "dump has more lines than llb.jsonl";
  EXPECT_EQ(n, static_cast<int>(def.ops.size()));
  // Go's encoder and ours agree on key order and escaping too.
  EXPECT_EQ(dump, expected);
}

TEST_P(LlbCase, RemarshalGivesIdenticalBytesAndDigests) {
  LoadedDefinition def = LoadCase(GetParam());
  for (const LoadedOp& op : def.ops) {
    std::string bytes = MarshalOp(op.op, OpEncoding::kFieldNumber);
    EXPECT_EQ(bytes, op.bytes) << op.digest.str();
    EXPECT_EQ(Digest::FromBytes(bytes), op.digest);
  }
  // The Definition survives a round trip through our serializer.
  auto again = ParseDefinition(SerializeDefinition(def.definition));
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(MessageDifferencer::Equals(*again, def.definition));
}

INSTANTIATE_TEST_SUITE_P(Upstream, LlbCase, ::testing::ValuesIn(Cases()),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

// --- the builder reproduces upstream's ops -----------------------------------

constexpr char kBusybox[] =
    "127.0.0.1:5000/library/busybox@sha256:"
    "109dee47a1d67d8dbe720e5f348f596f97e17bfdce7208882449a823a9bd6d88";
constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

MarshalOptions GogoEraOptions() {
  MarshalOptions o;
  o.platform = Platform{"linux", "amd64", "", "", {}};
  o.engine_caps = &caps::AllLlbCaps();
  o.encoding = OpEncoding::kFieldNumber;
  return o;
}

OpOptions Named(std::string name, std::string command = "") {
  OpOptions o;
  o.custom_name = std::move(name);
  if (!command.empty()) o.description["com.docker.dockerfile.v1.command"] = std::move(command);
  return o;
}

State Busybox(const std::string& stage_step, const std::string& command) {
  ImageOptions io;
  io.op = Named(stage_step + " FROM " + kBusybox, command);
  return Image(kBusybox, io);
}

RunOptions Sh(std::string script, std::string name, std::string command,
              std::string shell_flag = "-c") {
  RunOptions r;
  r.args = {"/bin/sh", std::move(shell_flag), std::move(script)};
  r.op = Named(std::move(name), std::move(command));
  return r;
}

// Compares op bodies, ignoring input digests (which differ when an upstream
// op is not byte-reproducible, see below) and, for v0.11.6 file ops, the
// platform that HEAD clients no longer write.
void ExpectSameOp(pb::Op built, pb::Op upstream) {
  for (auto* op : {&built, &upstream}) {
    for (auto& in : *op->mutable_inputs()) in.clear_digest();
    if (op->has_file()) op->clear_platform();
  }
  std::string diff;
  MessageDifferencer d;
  d.ReportDifferencesToString(&diff);
  EXPECT_TRUE(d.Compare(built, upstream)) << diff;
}

void ExpectSameDefinition(const pb::Definition& built_def, const std::string& name,
                          size_t byte_identical_ops) {
  auto built = LoadDefinition(built_def);
  ASSERT_TRUE(built.ok()) << built.status().ToString();
  LoadedDefinition upstream = LoadCase(name);
  ASSERT_EQ(built->ops.size(), upstream.ops.size());
  for (size_t i = 0; i < upstream.ops.size(); ++i) {
    SCOPED_TRACE("op " + std::to_string(i) + " " + upstream.ops[i].digest.str());
    ExpectSameOp(built->ops[i].op, upstream.ops[i].op);
    if (i < byte_identical_ops) {
      EXPECT_EQ(built->ops[i].digest, upstream.ops[i].digest);
      const pb::OpMetadata* a = built->Metadata(built->ops[i].digest);
      const pb::OpMetadata* b = upstream.Metadata(upstream.ops[i].digest);
      ASSERT_NE(a, nullptr);
      ASSERT_NE(b, nullptr);
      EXPECT_TRUE(MessageDifferencer::Equals(*a, *b));
    }
  }
}

TEST(BuilderConformance, ArgsEnvIsByteIdentical) {
  State base = Busybox("[1/2]", "FROM ${BASE}");
  State env = base.AddEnv("VERSION", "1.0")
                  .AddEnv("APP_VERSION", "1.0")
                  .AddEnv("PATH", std::string("/opt/bin:") + kDefaultPath)
                  .AddEnv("GREETING", "hello world");
  State out = env.Run(Sh("echo \"$APP_VERSION ${GREETING:-none} ${MISSING:-default}\" > /v.txt",
                         "[2/2] RUN echo \"1.0 hello world ${MISSING:-default}\" > /v.txt",
                         "RUN echo \"$APP_VERSION ${GREETING:-none} ${MISSING:-default}\" > "
                         "/v.txt"));
  auto def = out.Marshal(GogoEraOptions());
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  // Every op, the terminal included, has upstream's digest.
  ExpectSameDefinition(*def, "args-env", 3);
  EXPECT_EQ(Digest::FromBytes(def->def(1)).str(),
            "sha256:f738c600d7d00a7d309ff1ebd5d06fd62b5036396ff2fb26c1d7fc5738020eae");
}

TEST(BuilderConformance, WorkdirUser) {
  State s = Busybox("[1/4]", "FROM 127.0.0.1:5000/library/busybox")
                .AddEnv("PATH", kDefaultPath)
                .Dir("/srv/app");
  s = s.File(Mkdir("/srv/app", 0755, {.make_parents = true}), Named("[2/4] WORKDIR /srv/app"));
  s = s.User("nobody").Run(Sh("id > /tmp/id.txt", "[3/4] RUN id > /tmp/id.txt",
                              "RUN id > /tmp/id.txt"));
  s = s.User("root").Run(Sh("echo shell-form", "[4/4] RUN echo shell-form",
                            "RUN echo shell-form", "-ec"));
  auto def = s.Marshal(GogoEraOptions());
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  // v0.11.6 wrote a platform on file ops; HEAD (and kiln) do not, so only the
  // image source keeps upstream's digest.
  ExpectSameDefinition(*def, "workdir-user", 1);
}

TEST(BuilderConformance, RunMounts) {
  State s = Busybox("[stage-0 1/6]", "FROM 127.0.0.1:5000/library/busybox")
                .AddEnv("PATH", kDefaultPath);
  auto cache = Sh("echo x >> /cache/log",
                  "[stage-0 2/6] RUN --mount=type=cache,target=/cache,id=c1,sharing=locked echo x "
                  ">> /cache/log",
                  "RUN --mount=type=cache,target=/cache,id=c1,sharing=locked echo x >> /cache/log");
  cache.mounts.push_back(Mount::Cache("/cache", "/c1", CacheSharing::kLocked));
  s = s.Run(cache);

  auto secret = Sh("cat /run/secrets/token | wc -c > /len",
                   "[stage-0 3/6] RUN --mount=type=secret,id=token,target=/run/secrets/token cat "
                   "/run/secrets/token | wc -c > /len",
                   "RUN --mount=type=secret,id=token,target=/run/secrets/token cat "
                   "/run/secrets/token | wc -c > /len");
  secret.secrets.push_back(SecretMount{.id = "token", .dest = "/run/secrets/token",
                                       .optional = true});
  s = s.Run(secret);

  auto tmpfs = Sh("touch /scratch/x",
                  "[stage-0 4/6] RUN --mount=type=tmpfs,target=/scratch touch /scratch/x",
                  "RUN --mount=type=tmpfs,target=/scratch touch /scratch/x");
  tmpfs.mounts.push_back(Mount::Tmpfs("/scratch"));
  s = s.Run(tmpfs);

  LocalOptions lo;
  lo.shared_key_hint = "context";
  lo.unique_id = "39uxn9ifm0ekd9toq8v25rxm2";
  lo.op = Named("[internal] load build context");
  State context = Local("context", lo);
  auto bind = Sh("ls /ctx > /ls.txt",
                 "[stage-0 5/6] RUN --mount=type=bind,source=.,target=/ctx,readonly ls /ctx > "
                 "/ls.txt",
                 "RUN --mount=type=bind,source=.,target=/ctx,readonly ls /ctx > /ls.txt");
  bind.mounts.push_back(Mount::Bind("/ctx", context).Readonly());
  s = s.Run(bind);

  auto offline = Sh("echo offline", "[stage-0 6/6] RUN --network=none echo offline",
                    "RUN --network=none echo offline");
  offline.network = NetMode::kNone;
  s = s.Run(offline);

  auto def = s.Marshal(GogoEraOptions());
  ASSERT_TRUE(def.ok()) << def.status().ToString();
  auto built = LoadDefinition(*def);
  ASSERT_TRUE(built.ok());
  LoadedDefinition upstream = LoadCase("run-mounts");
  ASSERT_EQ(built->ops.size(), upstream.ops.size());
  // The image and the cache-mount RUN are byte-identical; so is the local
  // source, which has no inputs.
  EXPECT_EQ(built->ops[0].digest, upstream.ops[0].digest);
  EXPECT_EQ(built->ops[1].digest, upstream.ops[1].digest);
  EXPECT_EQ(built->ops[4].digest, upstream.ops[4].digest);
  // v0.11.6 left a secret mount's input at 0; HEAD clients write -1 (empty),
  // as kiln does. Everything else about the secret mount matches.
  pb::Op up_secret = upstream.ops[2].op;
  ASSERT_EQ(up_secret.exec().mounts(1).mounttype(), pb::SECRET);
  EXPECT_EQ(up_secret.exec().mounts(1).input(), 0);
  up_secret.mutable_exec()->mutable_mounts(1)->set_input(-1);
  ExpectSameOp(built->ops[2].op, up_secret);
  for (size_t i : {3u, 5u, 6u, 7u}) {
    SCOPED_TRACE("op " + std::to_string(i));
    ExpectSameOp(built->ops[i].op, upstream.ops[i].op);
  }
}

TEST(BuilderConformance, CopyFlags) {
  State base = Busybox("[1/6]", "FROM 127.0.0.1:5000/library/busybox");
  LocalOptions lo;
  lo.shared_key_hint = "context";
  lo.unique_id = "4s0tsf8r1jxho5dqv1in364km";
  lo.follow_paths = {"*.txt", "a.txt", "b.tar", "src"};
  lo.op = Named("[internal] load build context");
  State ctx = Local("context", lo);

  CopyOptions dockerfile_copy{.follow_symlinks = true,
                              .copy_dir_contents_only = true,
                              .create_dest_path = true,
                              .allow_wildcard = true,
                              .allow_empty_wildcard = true};
  CopyOptions chown = dockerfile_copy;
  chown.owner = *ChownOpt::Parse("1000:1000");
  chown.mode = 0640;
  State s = base.File(Copy(ctx, "a.txt", "/app/", chown));
  State linked = Scratch().File(Copy(ctx, "src/", "/app/src/", dockerfile_copy));
  auto def = linked.Marshal(GogoEraOptions());
  ASSERT_TRUE(def.ok());
  auto built_linked = LoadDefinition(*def);
  auto s_def = s.Marshal(GogoEraOptions());
  ASSERT_TRUE(s_def.ok());
  auto built_s = LoadDefinition(*s_def);
  ASSERT_TRUE(built_s.ok() && built_linked.ok());

  LoadedDefinition upstream = LoadCase("copy-flags");
  EXPECT_EQ(built_s->ops[1].digest, upstream.ops[1].digest);  // the local source
  ExpectSameOp(built_s->ops[2].op, upstream.ops[2].op);       // COPY --chown --chmod
  ExpectSameOp(built_linked->ops[1].op, upstream.ops[3].op);  // COPY --link
}

}  // namespace
}  // namespace kiln::llb
