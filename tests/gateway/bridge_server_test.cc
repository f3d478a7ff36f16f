// BridgeServer over a real socketpair: a gRPC client stub on one end, the
// server (ServeOnFd) on the other, solving scratch/file-op graphs with the
// copy snapshotter (no executor, no root needed).
#include "kiln/gateway/bridge_server.h"

#include <grpcpp/generic/generic_stub.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <string>

#include "bridge_fixture.h"
#include "kiln/solver/oci.h"
#include "support/registry_fixture.h"

namespace kiln::gateway {
namespace {

namespace fe = ::moby::buildkit::v1::frontend;
using testing::BridgeServerTest;

TEST_F(BridgeServerTest, PingAdvertisesImplementedCapsOnly) {
  fe::PingRequest req;
  fe::PongResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->Ping(&ctx, req, &resp).ok());
  std::vector<std::string> caps;
  for (const auto& c : resp.frontendapicaps()) {
    EXPECT_TRUE(c.enabled()) << c.id();
    caps.push_back(c.id());
  }
  EXPECT_TRUE(std::is_sorted(caps.begin(), caps.end()));
  for (const char* want : {"solve.base", "readfile", "readdir", "statfile",
                           "return", "proto.refarray", "gateway.evaluate"}) {
    EXPECT_NE(std::find(caps.begin(), caps.end(), want), caps.end()) << want;
  }
  // No image source in this build: no resolveimage; no containers ever.
  for (const char* absent : {"resolveimage", "gateway.exec",
                             "source.metaresolver", "solve.inlinereturn"}) {
    EXPECT_EQ(std::find(caps.begin(), caps.end(), absent), caps.end())
        << absent;
  }
  bool file_base = false;
  for (const auto& c : resp.llbcaps()) file_base |= c.id() == "file.base";
  EXPECT_TRUE(file_base);
  ASSERT_EQ(resp.workers_size(), 1);
  EXPECT_EQ(resp.workers(0).platforms_size(), 1);
  EXPECT_FALSE(resp.workers(0).platforms(0).os().empty());
  // The engine's native platform: frontends take it as BUILDPLATFORM.
  EXPECT_EQ(resp.workers(0).platforms(0).architecture(),
            llb::HostPlatform().architecture);
}

TEST_F(BridgeServerTest, HealthIsServedOnTheSameConnection) {
  // grpc.health.v1.Health/Check with an empty HealthCheckRequest; the answer
  // HealthCheckResponse{status: SERVING (1)} is the two bytes 08 01.
  grpc::GenericStub generic(channel_);
  grpc::ByteBuffer request, response;
  grpc::Slice empty;
  request = grpc::ByteBuffer(&empty, 1);
  grpc::ClientContext ctx;
  std::promise<grpc::Status> done;
  generic.UnaryCall(&ctx, "/grpc.health.v1.Health/Check", grpc::StubOptions(),
                    &request, &response,
                    [&done](grpc::Status s) { done.set_value(s); });
  grpc::Status status = done.get_future().get();
  ASSERT_TRUE(status.ok()) << status.error_message();
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(response.Dump(&slices).ok());
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  EXPECT_EQ(bytes, std::string("\x08\x01", 2));
}

TEST_F(BridgeServerTest, SolveThenReadFileAndRange) {
  std::string id = SolveSample();
  std::string data;
  ASSERT_TRUE(Read(id, "/hello.txt", &data).ok());
  EXPECT_EQ(data, "hello bridge");
  ASSERT_TRUE(Read(id, "dir/b.md", &data).ok());
  EXPECT_EQ(data, "BB");
  fe::FileRange range;
  range.set_offset(6);
  range.set_length(3);
  ASSERT_TRUE(Read(id, "/hello.txt", &data, &range).ok());
  EXPECT_EQ(data, "bri");
  range.set_offset(10);
  range.set_length(100);
  ASSERT_TRUE(Read(id, "/hello.txt", &data, &range).ok());
  EXPECT_EQ(data, "ge");
  // Symlinks are followed inside the ref.
  ASSERT_TRUE(Read(id, "/link", &data).ok());
  EXPECT_EQ(data, "hello bridge");
  EXPECT_EQ(bridge_->ref_ids(), std::vector<std::string>{id});
}

TEST_F(BridgeServerTest, ReadFileCannotEscapeTheRef) {
  std::string id = SolveSample();
  std::string data;
  EXPECT_EQ(Read(id, "/escape", &data).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Read(id, "../../../../../etc/passwd", &data).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Read(id, "/missing", &data).error_code(),
            grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(Read(id, "/dir", &data).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(BridgeServerTest, ReadDirAndStatFile) {
  std::string id = SolveSample();
  fe::ReadDirRequest req;
  req.set_ref(id);
  req.set_dirpath("/dir");
  fe::ReadDirResponse resp;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ReadDir(&ctx, req, &resp).ok());
  }
  ASSERT_EQ(resp.entries_size(), 2);
  EXPECT_EQ(resp.entries(0).path(), "a");
  EXPECT_EQ(resp.entries(0).size(), 1);
  EXPECT_EQ(resp.entries(0).mode(), 0644u);
  EXPECT_EQ(resp.entries(1).path(), "b.md");
  EXPECT_EQ(resp.entries(1).mode(), 0600u);
  req.set_includepattern("*.md");
  resp.Clear();
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->ReadDir(&ctx, req, &resp).ok());
  }
  ASSERT_EQ(resp.entries_size(), 1);
  EXPECT_EQ(resp.entries(0).path(), "b.md");

  fe::StatFileRequest sreq;
  sreq.set_ref(id);
  sreq.set_path("/link");
  fe::StatFileResponse sresp;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->StatFile(&ctx, sreq, &sresp).ok());
  }
  EXPECT_EQ(sresp.stat().path(), "link");
  EXPECT_EQ(sresp.stat().linkname(), "/hello.txt");
  EXPECT_NE(sresp.stat().mode() & (1u << 27), 0u);  // Go ModeSymlink
  sreq.set_path("/dir");
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->StatFile(&ctx, sreq, &sresp).ok());
  }
  EXPECT_EQ(sresp.stat().mode(), (1u << 31) | 0755u);  // Go ModeDir
  EXPECT_EQ(sresp.stat().size(), 0);
  sreq.set_path("/hello.txt");
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->StatFile(&ctx, sreq, &sresp).ok());
  }
  EXPECT_EQ(sresp.stat().mode(), 0640u);
  EXPECT_EQ(sresp.stat().size(), 12);
  EXPECT_GT(sresp.stat().modtime(), 0);
}

TEST_F(BridgeServerTest, UnknownRefIsRefused) {
  SolveSample();
  std::string data;
  grpc::Status st = Read("not-a-ref-of-this-build", "/hello.txt", &data);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(st.error_message().find("unknown ref not-a-ref-of-this-build"),
            std::string::npos)
      << st.error_message();
  fe::StatFileRequest sreq;
  sreq.set_ref("nope");
  sreq.set_path("/");
  fe::StatFileResponse sresp;
  grpc::ClientContext ctx;
  EXPECT_EQ(stub_->StatFile(&ctx, sreq, &sresp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  fe::ReturnRequest rreq;
  rreq.mutable_result()->mutable_ref()->set_id("nope");
  fe::ReturnResponse rresp;
  grpc::ClientContext ctx2;
  EXPECT_EQ(stub_->Return(&ctx2, rreq, &rresp).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_FALSE(bridge_->result().has_value());
}

TEST_F(BridgeServerTest, ReturnStoresTheResultOnce) {
  std::string id = SolveSample();
  fe::ReturnRequest req;
  req.mutable_result()->mutable_ref()->set_id(id);
  (*req.mutable_result()->mutable_metadata())["containerimage.config"] = "{}";
  fe::ReturnResponse resp;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->Return(&ctx, req, &resp).ok());
  }
  std::optional<FinalResult> result = bridge_->result();
  ASSERT_TRUE(result.has_value());
  EXPECT_TRUE(result->error.ok());
  ASSERT_TRUE(result->ref.has_value());
  EXPECT_EQ(result->ref->id, id);
  EXPECT_FALSE(result->ref->snapshot.empty());
  EXPECT_EQ(result->metadata.at("containerimage.config"), "{}");
  grpc::ClientContext ctx;
  EXPECT_EQ(stub_->Return(&ctx, req, &resp).error_code(),
            grpc::StatusCode::FAILED_PRECONDITION);
}

TEST_F(BridgeServerTest, ReturnStoresAnError) {
  fe::ReturnRequest req;
  req.mutable_error()->set_code(3);
  req.mutable_error()->set_message("dockerfile parse error line 1");
  fe::ReturnResponse resp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->Return(&ctx, req, &resp).ok());
  auto result = bridge_->result();
  ASSERT_TRUE(result.has_value());
  EXPECT_EQ(result->error.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(result->error.message(), "dockerfile parse error line 1");
}

TEST_F(BridgeServerTest, MalformedDefinitionIsInvalidArgument) {
  fe::SolveRequest req;
  req.mutable_definition()->add_def("\xff\xff not an op");
  req.set_allowresultreturn(true);
  fe::SolveResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->Solve(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT)
      << st.error_message();
  EXPECT_FALSE(st.error_message().empty());
  EXPECT_TRUE(bridge_->ref_ids().empty());
}

TEST_F(BridgeServerTest, UnsupportedRequestsAreUnimplemented) {
  fe::SolveRequest req;
  req.set_frontend("dockerfile.v0");
  fe::SolveResponse resp;
  grpc::ClientContext ctx;
  grpc::Status st = stub_->Solve(&ctx, req, &resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_NE(st.error_message().find("nested frontend solves"),
            std::string::npos);
  fe::NewContainerRequest nreq;
  fe::NewContainerResponse nresp;
  grpc::ClientContext ctx2;
  st = stub_->NewContainer(&ctx2, nreq, &nresp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_FALSE(st.error_message().empty());
  fe::ResolveImageConfigRequest rreq;
  rreq.set_ref("busybox:latest");
  fe::ResolveImageConfigResponse rresp;
  grpc::ClientContext ctx3;
  EXPECT_EQ(stub_->ResolveImageConfig(&ctx3, rreq, &rresp).error_code(),
            grpc::StatusCode::UNAVAILABLE);
}

TEST_F(BridgeServerTest, EmptyDefinitionGivesEmptyRefAndWarningsAreKept) {
  fe::SolveRequest req;
  req.set_allowresultreturn(true);
  req.set_allowresultarrayref(true);
  fe::SolveResponse resp;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->Solve(&ctx, req, &resp).ok());
  }
  EXPECT_TRUE(resp.result().has_ref());
  EXPECT_EQ(resp.result().ref().id(), "");
  fe::WarnRequest w;
  w.set_digest("sha256:abc");
  w.set_level(1);
  w.set_short_("careful");
  fe::WarnResponse wresp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->Warn(&ctx, w, &wresp).ok());
  ASSERT_EQ(bridge_->warnings().size(), 1u);
  EXPECT_EQ(bridge_->warnings()[0].short_text, "careful");
}

TEST_F(BridgeServerTest, EvaluateAndLegacyResultForms) {
  std::string id = SolveSample();
  fe::EvaluateRequest ereq;
  ereq.set_ref(id);
  fe::EvaluateResponse eresp;
  {
    grpc::ClientContext ctx;
    EXPECT_TRUE(stub_->Evaluate(&ctx, ereq, &eresp).ok());
  }
  ereq.set_ref("other");
  {
    grpc::ClientContext ctx;
    EXPECT_EQ(stub_->Evaluate(&ctx, ereq, &eresp).error_code(),
              grpc::StatusCode::INVALID_ARGUMENT);
  }
  // allowResultReturn=false: the id comes back in SolveResponse.ref.
  auto def = llb::Scratch().File(llb::Mkfile("/x", 0644, "x")).Marshal();
  ASSERT_TRUE(def.ok());
  fe::SolveRequest req;
  *req.mutable_definition() = *def;
  fe::SolveResponse resp;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->Solve(&ctx, req, &resp).ok());
  }
  EXPECT_FALSE(resp.ref().empty());
  EXPECT_FALSE(resp.has_result());
  std::string data;
  ASSERT_TRUE(Read(resp.ref(), "/x", &data).ok());
  EXPECT_EQ(data, "x");
  // A RefMap result keyed by platform.
  fe::ReturnRequest rreq;
  auto& refs = *rreq.mutable_result()->mutable_refs()->mutable_refs();
  refs["linux/amd64"].set_id(id);
  refs["linux/arm64"].set_id(resp.ref());
  fe::ReturnResponse rresp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->Return(&ctx, rreq, &rresp).ok());
  auto result = bridge_->result();
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->ref.has_value());
  ASSERT_EQ(result->refs.size(), 2u);
  EXPECT_EQ(result->refs.at("linux/amd64").id, id);
  EXPECT_EQ(result->refs.at("linux/arm64").id, resp.ref());
  EXPECT_NE(result->refs.at("linux/amd64").snapshot,
            result->refs.at("linux/arm64").snapshot);
}

TEST_F(BridgeServerTest, SolverErrorsComeBackAsStatus) {
  // Mkfile into a missing directory fails in the solver, not the loader.
  std::string id;
  grpc::Status st = SolveState(
      llb::Scratch().File(llb::Mkfile("/no/such/dir/f", 0644, "x")), &id);
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_NE(st.error_message().find("/no/such/dir"), std::string::npos)
      << st.error_message();
  EXPECT_TRUE(bridge_->ref_ids().empty());
}

class BridgeServerImageTest : public BridgeServerTest {
 protected:
  BridgeServerImageTest() { with_images_ = true; }
};

TEST_F(BridgeServerImageTest, ResolveImageConfigReturnsDigestAndConfig) {
  auto desc =
      solver::testing::StoreImage(content_.get(), llb::HostPlatform(),
                                  solver::testing::MakeTar({{"a.txt", "a"}}),
                                  "application/vnd.oci.image.layer.v1.tar");
  ASSERT_TRUE(desc.ok()) << desc.status().ToString();
  ASSERT_TRUE(images_->Put("docker.io/library/tiny:1", *desc).ok());
  auto manifest_bytes = content_->ReadAll(desc->digest);
  ASSERT_TRUE(manifest_bytes.ok());
  auto manifest = solver::oci::ParseManifest(*manifest_bytes);
  ASSERT_TRUE(manifest.ok()) << manifest.status().ToString();

  fe::PingRequest preq;
  fe::PongResponse presp;
  {
    grpc::ClientContext ctx;
    ASSERT_TRUE(stub_->Ping(&ctx, preq, &presp).ok());
  }
  bool advertised = false;
  for (const auto& c : presp.frontendapicaps()) {
    advertised |= c.id() == "resolveimage";
  }
  EXPECT_TRUE(advertised);

  fe::ResolveImageConfigRequest req;
  req.set_ref("tiny:1");
  req.set_resolvemode("local");
  fe::ResolveImageConfigResponse resp;
  {
    grpc::ClientContext ctx;
    grpc::Status st = stub_->ResolveImageConfig(&ctx, req, &resp);
    ASSERT_TRUE(st.ok()) << st.error_message();
  }
  EXPECT_EQ(resp.digest(), desc->digest.str());
  EXPECT_EQ(Digest::FromBytes(resp.config()), manifest->config.digest);
  EXPECT_EQ(resp.ref(), "docker.io/library/tiny:1");
  req.set_ref("absent:1");
  grpc::ClientContext ctx;
  EXPECT_EQ(stub_->ResolveImageConfig(&ctx, req, &resp).error_code(),
            grpc::StatusCode::NOT_FOUND);
}

TEST_F(BridgeServerTest, WarningsKeepTheirSourceLocation) {
  fe::WarnRequest w;
  w.set_digest("sha256:abc");
  w.set_level(1);
  w.set_short_("StageNameCasing: Stage name 'A' should be lowercase (line 3)");
  w.add_detail("Stage names should be lowercase");
  w.set_url("https://docs.docker.com/go/dockerfile/rule/stage-name-casing/");
  w.mutable_info()->set_filename("build.Dockerfile");
  auto* r = w.add_ranges();
  r->mutable_start()->set_line(3);
  r->mutable_start()->set_character(1);
  r->mutable_end()->set_line(4);
  r->mutable_end()->set_character(9);
  fe::WarnResponse wresp;
  grpc::ClientContext ctx;
  ASSERT_TRUE(stub_->Warn(&ctx, w, &wresp).ok());
  ASSERT_EQ(bridge_->warnings().size(), 1u);
  const Warning got = bridge_->warnings()[0];
  EXPECT_EQ(got.filename, "build.Dockerfile");
  ASSERT_EQ(got.ranges.size(), 1u);
  EXPECT_EQ(got.ranges[0].file, "build.Dockerfile");
  EXPECT_EQ(got.ranges[0].line, 3);
  EXPECT_EQ(got.ranges[0].column, 1);
  EXPECT_EQ(got.ranges[0].end_line, 4);
  EXPECT_EQ(got.ranges[0].end_column, 9);
  EXPECT_EQ(got.url,
            "https://docs.docker.com/go/dockerfile/rule/stage-name-casing/");
}

}  // namespace
}  // namespace kiln::gateway
