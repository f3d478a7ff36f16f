// The SDK client against an in-process fake bridge over a socketpair: every
// RPC round-trips its request and answer, and gRPC errors map to kiln codes.
#include "kiln/sdk/client.h"

#include <gtest/gtest.h>

#include "kiln/sdk/testing/fake_bridge.h"

namespace kiln::sdk {
namespace {

using testing::BridgeServer;
using testing::FakeBridge;

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<Client>> c = Client::FromFd(server_.client_fd());
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    client_ = std::move(c).value();
  }
  void TearDown() override {
    client_.reset();
    server_.Stop();
  }

  FakeBridge bridge_;
  BridgeServer server_{&bridge_};
  std::unique_ptr<Client> client_;
};

TEST_F(ClientTest, PingListsOnlyEnabledCaps) {
  auto* cap = bridge_.pong.add_frontendapicaps();
  cap->set_id("solve.base");
  cap->set_enabled(true);
  cap = bridge_.pong.add_frontendapicaps();
  cap->set_id("gateway.exec");
  cap->set_enabled(false);
  cap = bridge_.pong.add_llbcaps();
  cap->set_id("source.image");
  cap->set_enabled(true);

  Result<Capabilities> caps = client_->Ping();
  ASSERT_TRUE(caps.ok()) << caps.status().ToString();
  EXPECT_EQ(caps->frontend, std::vector<std::string>{"solve.base"});
  EXPECT_EQ(caps->llb, std::vector<std::string>{"source.image"});
  EXPECT_TRUE(caps->HasFrontendCap("solve.base"));
  EXPECT_FALSE(caps->HasFrontendCap("gateway.exec"));
  EXPECT_TRUE(caps->HasLLBCap("source.image"));
}

TEST_F(ClientTest, PingKeepsTheWorkerPlatforms) {
  EXPECT_TRUE(client_->WorkerPlatforms().empty());
  auto* worker = bridge_.pong.add_workers();
  auto* p = worker->add_platforms();
  p->set_os("linux");
  p->set_architecture("s390x");
  Result<Capabilities> caps = client_->Ping();
  ASSERT_TRUE(caps.ok()) << caps.status().ToString();
  ASSERT_EQ(caps->worker_platforms.size(), 1u);
  EXPECT_EQ(caps->worker_platforms[0].architecture, "s390x");
  ASSERT_EQ(client_->WorkerPlatforms().size(), 1u);
  EXPECT_EQ(llb::FormatPlatform(client_->WorkerPlatforms()[0]), "linux/s390x");
}

TEST_F(ClientTest, PingDefaultsCapsAnOldEngineOmits) {
  Result<Capabilities> caps = client_->Ping();
  ASSERT_TRUE(caps.ok()) << caps.status().ToString();
  EXPECT_EQ(caps->frontend,
            (std::vector<std::string>{"solve.base", "solve.inlinereturn",
                                      "resolveimage", "readfile"}));
  EXPECT_EQ(caps->llb.size(), 29u);
  EXPECT_TRUE(caps->HasLLBCap("exec.mount.cache"));
  EXPECT_FALSE(caps->HasFrontendCap("return"));
}

TEST_F(ClientTest, ResolveImageConfigSendsRefAndPlatform) {
  bridge_.image_config.set_digest("sha256:abc");
  bridge_.image_config.set_config("{\"architecture\":\"arm64\"}");
  bridge_.image_config.set_ref("docker.io/library/alpine:3.20");

  Result<ImageConfig> got = client_->ResolveImageConfig(
      "alpine:3.20",
      llb::Platform{.os = "linux", .architecture = "arm64", .variant = ""});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->digest, "sha256:abc");
  EXPECT_EQ(got->config, "{\"architecture\":\"arm64\"}");
  EXPECT_EQ(got->ref, "docker.io/library/alpine:3.20");
  EXPECT_EQ(bridge_.last_resolve.ref(), "alpine:3.20");
  ASSERT_TRUE(bridge_.last_resolve.has_platform());
  EXPECT_EQ(bridge_.last_resolve.platform().os(), "linux");
  EXPECT_EQ(bridge_.last_resolve.platform().architecture(), "arm64");
}

TEST_F(ClientTest, ResolveImageConfigKeepsRequestedRefFromOldEngines) {
  bridge_.image_config.set_digest("sha256:def");
  Result<ImageConfig> got =
      client_->ResolveImageConfig("busybox", std::nullopt);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->ref, "busybox");
  EXPECT_FALSE(bridge_.last_resolve.has_platform());
}

TEST_F(ClientTest, SolveSendsDefinitionAndReturnsRefId) {
  bridge_.solve.mutable_result()->mutable_ref()->set_id("ref-42");
  pb::Definition def;
  def.add_def("op-one");
  def.add_def("op-two");

  Result<Ref> ref = client_->Solve(def, /*evaluate=*/true);
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  EXPECT_EQ(ref->id, "ref-42");
  const auto& req = bridge_.last_solve;
  ASSERT_EQ(req.definition().def_size(), 2);
  EXPECT_EQ(req.definition().def(1), "op-two");
  EXPECT_TRUE(req.allowresultreturn());
  EXPECT_TRUE(req.allowresultarrayref());
  EXPECT_TRUE(req.evaluate());
}

TEST_F(ClientTest, SolveAcceptsLegacyRefs) {
  bridge_.solve.mutable_result()->set_refdeprecated("legacy-1");
  Result<Ref> ref = client_->Solve(pb::Definition{});
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  EXPECT_EQ(ref->id, "legacy-1");
  EXPECT_FALSE(bridge_.last_solve.evaluate());

  bridge_.solve.Clear();
  bridge_.solve.set_ref("legacy-2");
  ref = client_->Solve(pb::Definition{});
  ASSERT_TRUE(ref.ok()) << ref.status().ToString();
  EXPECT_EQ(ref->id, "legacy-2");
}

TEST_F(ClientTest, SolveRejectsARefMap) {
  (*bridge_.solve.mutable_result()
        ->mutable_refs()
        ->mutable_refs())["linux/amd64"]
      .set_id("a");
  Result<Ref> ref = client_->Solve(pb::Definition{});
  ASSERT_FALSE(ref.ok());
  EXPECT_EQ(ref.status().code(), StatusCode::kUnimplemented);
}

TEST_F(ClientTest, ReadFileWholeAndRange) {
  bridge_.file_data = std::string("a\0b", 3);
  Result<std::string> data = client_->ReadFile(Ref{"r1"}, "Dockerfile");
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  EXPECT_EQ(*data, std::string("a\0b", 3));
  EXPECT_EQ(bridge_.last_read_file.ref(), "r1");
  EXPECT_EQ(bridge_.last_read_file.filepath(), "Dockerfile");
  EXPECT_FALSE(bridge_.last_read_file.has_range());

  data = client_->ReadFile(Ref{"r1"}, "x", FileRange{.offset = 5, .length = 7});
  ASSERT_TRUE(data.ok()) << data.status().ToString();
  ASSERT_TRUE(bridge_.last_read_file.has_range());
  EXPECT_EQ(bridge_.last_read_file.range().offset(), 5);
  EXPECT_EQ(bridge_.last_read_file.range().length(), 7);
}

TEST_F(ClientTest, ReadDirMapsEntries) {
  auto* e = bridge_.dir.add_entries();
  e->set_path("src");
  e->set_mode(FileStat::kModeDir | 0755);
  e->set_uid(1000);
  e->set_gid(1001);
  e->set_modtime(1234567890123);
  e = bridge_.dir.add_entries();
  e->set_path("link");
  e->set_mode(FileStat::kModeSymlink | 0777);
  e->set_linkname("src");
  e->set_size(3);

  Result<std::vector<FileStat>> got =
      client_->ReadDir(Ref{"r2"}, "/app", "*.go");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].path, "src");
  EXPECT_TRUE((*got)[0].IsDir());
  EXPECT_EQ((*got)[0].mode & 0777, 0755u);
  EXPECT_EQ((*got)[0].uid, 1000u);
  EXPECT_EQ((*got)[0].gid, 1001u);
  EXPECT_EQ((*got)[0].mod_time_ns, 1234567890123);
  EXPECT_FALSE((*got)[1].IsDir());
  EXPECT_EQ((*got)[1].linkname, "src");
  EXPECT_EQ((*got)[1].size, 3);
  EXPECT_EQ(bridge_.last_read_dir.ref(), "r2");
  EXPECT_EQ(bridge_.last_read_dir.dirpath(), "/app");
  EXPECT_EQ(bridge_.last_read_dir.includepattern(), "*.go");
}

TEST_F(ClientTest, StatFileMapsStat) {
  bridge_.stat.mutable_stat()->set_path("go.mod");
  bridge_.stat.mutable_stat()->set_mode(0644);
  bridge_.stat.mutable_stat()->set_size(99);
  Result<FileStat> st = client_->StatFile(Ref{"r3"}, "go.mod");
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ(st->path, "go.mod");
  EXPECT_EQ(st->mode, 0644u);
  EXPECT_EQ(st->size, 99);
  EXPECT_EQ(bridge_.last_stat.ref(), "r3");
  EXPECT_EQ(bridge_.last_stat.path(), "go.mod");
}

TEST_F(ClientTest, EvaluateSendsTheRef) {
  ASSERT_TRUE(client_->Evaluate(Ref{"lazy"}).ok());
  EXPECT_EQ(bridge_.last_evaluate.ref(), "lazy");
}

TEST_F(ClientTest, InputsReturnsDefinitionsByName) {
  (*bridge_.inputs.mutable_definitions())["context"].add_def("ctx-op");
  (*bridge_.inputs.mutable_definitions())["dockerfile"].add_def("df-op");
  Result<std::map<std::string, pb::Definition>> got = client_->Inputs();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 2u);
  ASSERT_EQ(got->at("context").def_size(), 1);
  EXPECT_EQ(got->at("context").def(0), "ctx-op");
  EXPECT_EQ(got->at("dockerfile").def(0), "df-op");
}

TEST_F(ClientTest, WarnSendsEveryField) {
  Warning w{.vertex_digest = "sha256:v",
            .level = 1,
            .short_message = "legacy key/value format",
            .detail = {"use ENV key=value", "second"},
            .url = "https://docs.docker.com/go/x",
            .range = SourceRange{.file = "Dockerfile", .line = 3, .column = 1}};
  ASSERT_TRUE(client_->Warn(w).ok());
  const auto& req = bridge_.last_warn;
  EXPECT_EQ(req.digest(), "sha256:v");
  EXPECT_EQ(req.level(), 1);
  EXPECT_EQ(req.short_(), "legacy key/value format");
  ASSERT_EQ(req.detail_size(), 2);
  EXPECT_EQ(req.detail(0), "use ENV key=value");
  EXPECT_EQ(req.url(), "https://docs.docker.com/go/x");
  EXPECT_EQ(req.info().filename(), "Dockerfile");
  ASSERT_EQ(req.ranges_size(), 1);
  EXPECT_EQ(req.ranges(0).start().line(), 3);
  EXPECT_EQ(req.ranges(0).start().character(), 1);
  EXPECT_EQ(req.ranges(0).end().line(), 3);
}

TEST_F(ClientTest, ReturnSendsRefAndMetadata) {
  BuildResult result{
      .ref = Ref{"final"},
      .metadata = {{"containerimage.config", "{\"os\":\"linux\"}"}}};
  ASSERT_TRUE(client_->Return(result).ok());
  ASSERT_EQ(bridge_.returns.size(), 1u);
  const auto& req = bridge_.returns[0];
  EXPECT_FALSE(req.has_error());
  EXPECT_EQ(req.result().ref().id(), "final");
  EXPECT_EQ(req.result().metadata().at("containerimage.config"),
            "{\"os\":\"linux\"}");
}

TEST_F(ClientTest, ReturnSendsARefMapForSeveralPlatforms) {
  BuildResult result{
      .ref = Ref{"ignored"},
      .refs = {{"linux/amd64", Ref{"a"}}, {"linux/arm64", Ref{"b"}}},
      .metadata = {{"refs.platforms", "{}"}}};
  ASSERT_TRUE(client_->Return(result).ok());
  ASSERT_EQ(bridge_.returns.size(), 1u);
  const auto& out = bridge_.returns[0].result();
  ASSERT_TRUE(out.has_refs());
  EXPECT_FALSE(out.has_ref());
  ASSERT_EQ(out.refs().refs_size(), 2);
  EXPECT_EQ(out.refs().refs().at("linux/amd64").id(), "a");
  EXPECT_EQ(out.refs().refs().at("linux/arm64").id(), "b");
  EXPECT_EQ(out.metadata().at("refs.platforms"), "{}");
}

TEST_F(ClientTest, ReturnErrorSendsCodeMessageAndLocation) {
  Status error = InvalidArgumentError("unknown instruction: FORM")
                     .WithRange(SourceRange{.file = "Dockerfile",
                                            .line = 2,
                                            .column = 1,
                                            .end_line = 2,
                                            .end_column = 5});
  ASSERT_TRUE(client_->Return(error).ok());
  ASSERT_EQ(bridge_.returns.size(), 1u);
  const auto& req = bridge_.returns[0];
  EXPECT_FALSE(req.has_result());
  EXPECT_EQ(req.error().code(), 3);
  EXPECT_EQ(req.error().message(), "unknown instruction: FORM");
  ASSERT_EQ(req.error().details_size(), 1);
  EXPECT_EQ(req.error().details(0).type_url(),
            "github.com/moby/buildkit/errdefs.Source+json");
  EXPECT_EQ(
      req.error().details(0).value(),
      "{\"info\":{\"filename\":\"Dockerfile\"},\"ranges\":[{\"start\":"
      "{\"line\":2,\"character\":1},\"end\":{\"line\":2,\"character\":5}}]}");
}

TEST_F(ClientTest, ReturnErrorWithoutRangeHasNoDetails) {
  ASSERT_TRUE(client_->Return(NotFoundError("no \"x\"\n")).ok());
  ASSERT_EQ(bridge_.returns.size(), 1u);
  EXPECT_EQ(bridge_.returns[0].error().code(), 5);
  EXPECT_EQ(bridge_.returns[0].error().details_size(), 0);
}

struct CodeCase {
  grpc::StatusCode grpc_code;
  StatusCode kiln_code;
};

class ClientErrorTest : public ClientTest,
                        public ::testing::WithParamInterface<CodeCase> {};

TEST_P(ClientErrorTest, EveryRpcMapsTheCodeAndKeepsTheMessage) {
  bridge_.fail = grpc::Status(GetParam().grpc_code, "server says no");
  std::vector<Status> got = {
      client_->Ping().status(),
      client_->ResolveImageConfig("alpine", std::nullopt).status(),
      client_->Solve(pb::Definition{}).status(),
      client_->ReadFile(Ref{"r"}, "f").status(),
      client_->ReadDir(Ref{"r"}, "d").status(),
      client_->StatFile(Ref{"r"}, "f").status(),
      client_->Evaluate(Ref{"r"}),
      client_->Inputs().status(),
      client_->Warn(Warning{}),
      client_->Return(BuildResult{}),
      client_->Return(InternalError("boom")),
  };
  for (const Status& s : got) {
    EXPECT_EQ(s.code(), GetParam().kiln_code) << s.ToString();
    EXPECT_NE(s.message().find("server says no"), std::string::npos)
        << s.ToString();
    EXPECT_EQ(s.message().rfind("bridge ", 0), 0u) << s.ToString();
  }
  EXPECT_EQ(bridge_.Calls().size(), got.size());
}

INSTANTIATE_TEST_SUITE_P(
    Codes, ClientErrorTest,
    ::testing::Values(
        CodeCase{grpc::StatusCode::NOT_FOUND, StatusCode::kNotFound},
        CodeCase{grpc::StatusCode::INVALID_ARGUMENT,
                 StatusCode::kInvalidArgument},
        CodeCase{grpc::StatusCode::PERMISSION_DENIED,
                 StatusCode::kPermissionDenied},
        CodeCase{grpc::StatusCode::UNIMPLEMENTED, StatusCode::kUnimplemented},
        CodeCase{grpc::StatusCode::FAILED_PRECONDITION,
                 StatusCode::kFailedPrecondition},
        CodeCase{grpc::StatusCode::INTERNAL, StatusCode::kInternal}));

TEST_F(ClientTest, ClosedConnectionIsUnavailable) {
  server_.Stop();
  Result<Capabilities> caps = client_->Ping();
  ASSERT_FALSE(caps.ok());
  EXPECT_EQ(caps.status().code(), StatusCode::kUnavailable)
      << caps.status().ToString();
}

TEST(ClientFromFdTest, RejectsAClosedDescriptor) {
  Result<std::unique_ptr<Client>> c = Client::FromFd(-1);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
  c = Client::FromFd(1000);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace kiln::sdk
