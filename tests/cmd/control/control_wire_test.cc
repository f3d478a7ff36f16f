// kiln_control: progress events through StatusResponse and back, errors
// with source ranges through a gRPC status and back, addresses.
#include <gtest/gtest.h>

#include <vector>

#include "control/address.h"
#include "control/rpc_status.h"
#include "control/status_wire.h"

namespace kiln::control {
namespace {

// Records what it is told.
class RecordingSink : public solver::ProgressSink {
 public:
  void OnVertex(const solver::VertexProgress& v) override {
    vertexes.push_back(v);
    order.push_back("vertex");
  }
  void OnStatus(const solver::VertexStatusEntry& s) override {
    statuses.push_back(s);
    order.push_back("status");
  }
  void OnLog(const solver::VertexLogEntry& l) override {
    logs.push_back(l);
    order.push_back("log");
  }
  void OnWarning(const solver::VertexWarningEntry&) override {
    order.push_back("warning");
  }
  std::vector<solver::VertexProgress> vertexes;
  std::vector<solver::VertexStatusEntry> statuses;
  std::vector<solver::VertexLogEntry> logs;
  std::vector<std::string> order;
};

solver::ProgressClock::time_point At(int64_t ns) {
  return solver::ProgressClock::time_point(
      std::chrono::duration_cast<solver::ProgressClock::duration>(
          std::chrono::nanoseconds(ns)));
}

TEST(StatusWireTest, EventsSurviveTheRoundTrip) {
  std::vector<wire::StatusResponse> sent;
  StatusResponseSink sink(
      [&](wire::StatusResponse r) { sent.push_back(std::move(r)); });
  Digest a = Digest::FromBytes("a"), b = Digest::FromBytes("b");
  solver::VertexProgress v;
  v.digest = a;
  v.inputs = {b};
  v.name = "RUN make";
  v.started = At(1700000000123456789);
  v.completed = At(1700000001000000001);
  v.cached = true;
  v.error = "boom";
  v.progress_group = "pg";
  sink.OnVertex(v);
  sink.OnStatus({.vertex = a,
                 .id = "sha256:x (layer)",
                 .name = "pull",
                 .current = 5,
                 .total = 10,
                 .timestamp = At(1700000000500000000),
                 .started = At(1700000000400000000),
                 .completed = std::nullopt});
  sink.OnLog({.vertex = a,
              .stream = 2,
              .data = std::string("out\0put", 7),
              .timestamp = At(1700000000600000000)});
  ASSERT_EQ(sent.size(), 3u);

  RecordingSink got;
  for (const auto& r : sent) {
    EXPECT_TRUE(ReplayStatusResponse(r, got).empty());
  }
  ASSERT_EQ(got.vertexes.size(), 1u);
  const solver::VertexProgress& gv = got.vertexes[0];
  EXPECT_EQ(gv.digest, a);
  EXPECT_EQ(gv.inputs, std::vector<Digest>{b});
  EXPECT_EQ(gv.name, "RUN make");
  EXPECT_EQ(gv.started, v.started);
  EXPECT_EQ(gv.completed, v.completed);
  EXPECT_TRUE(gv.cached);
  EXPECT_EQ(gv.error, "boom");
  EXPECT_EQ(gv.progress_group, "pg");
  ASSERT_EQ(got.statuses.size(), 1u);
  EXPECT_EQ(got.statuses[0].id, "sha256:x (layer)");
  EXPECT_EQ(got.statuses[0].current, 5);
  EXPECT_EQ(got.statuses[0].total, 10);
  EXPECT_TRUE(got.statuses[0].started.has_value());
  EXPECT_FALSE(got.statuses[0].completed.has_value());
  ASSERT_EQ(got.logs.size(), 1u);
  EXPECT_EQ(got.logs[0].stream, 2);
  EXPECT_EQ(got.logs[0].data, std::string("out\0put", 7));
  EXPECT_EQ(got.logs[0].timestamp, At(1700000000600000000));
}

TEST(StatusWireTest, BadDigestsAreSkippedAndWarningsReturned) {
  wire::StatusResponse r;
  r.add_vertexes()->set_digest("not a digest");
  r.add_logs()->set_vertex("sha256:zz");
  gateway::Warning w;
  w.vertex = Digest::FromBytes("v").str();
  w.level = 1;
  w.short_text = "StageNameCasing: lowercase";
  w.detail = {"detail"};
  w.url = "https://example.com";
  w.filename = "Dockerfile";
  w.ranges = {SourceRange{.file = "Dockerfile",
                          .line = 3,
                          .column = 1,
                          .end_line = 3,
                          .end_column = 9}};
  *r.add_warnings() = ToVertexWarning(w);
  RecordingSink got;
  std::vector<gateway::Warning> warnings = ReplayStatusResponse(r, got);
  EXPECT_TRUE(got.order.empty());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].short_text, w.short_text);
  EXPECT_EQ(warnings[0].filename, "Dockerfile");
  ASSERT_EQ(warnings[0].ranges.size(), 1u);
  EXPECT_EQ(warnings[0].ranges[0].line, 3);
  EXPECT_EQ(warnings[0].ranges[0].end_column, 9);
  EXPECT_EQ(warnings[0].detail, w.detail);
  EXPECT_EQ(warnings[0].url, w.url);
}

TEST(RpcStatusTest, SourceRangesCrossTheWire) {
  Status located =
      InvalidArgumentError("unknown instruction: FORM")
          .WithRange({.file = "Dockerfile", .line = 4, .column = 1});
  grpc::Status wire_status = ToGrpcStatus(located);
  EXPECT_EQ(wire_status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(wire_status.error_message(), "unknown instruction: FORM");
  Status back = FromGrpcStatus(wire_status);
  EXPECT_EQ(back.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(back.message(), "unknown instruction: FORM");
  ASSERT_EQ(back.ranges().size(), 1u);
  EXPECT_EQ(back.ranges()[0].file, "Dockerfile");
  EXPECT_EQ(back.ranges()[0].line, 4);
  EXPECT_EQ(back.ranges()[0].column, 1);

  Status plain = FromGrpcStatus(ToGrpcStatus(CancelledError("stopped")));
  EXPECT_EQ(plain.code(), StatusCode::kCancelled);
  EXPECT_TRUE(plain.ranges().empty());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK).ok());
  // Garbage details: the code and message still come through.
  Status garbage = FromGrpcStatus(
      grpc::Status(grpc::StatusCode::INTERNAL, "m", "\xff\xff garbage"));
  EXPECT_EQ(garbage.code(), StatusCode::kInternal);
  EXPECT_EQ(garbage.message(), "m");
}

TEST(AddressTest, ParsesUnixAndTcp) {
  auto unix_addr = ParseAddress("unix:///run/kiln/kilnd.sock");
  ASSERT_TRUE(unix_addr.ok());
  EXPECT_EQ(unix_addr->kind, Address::Kind::kUnix);
  EXPECT_EQ(unix_addr->path, "/run/kiln/kilnd.sock");
  EXPECT_EQ(unix_addr->ToString(), "unix:///run/kiln/kilnd.sock");
  EXPECT_TRUE(ParseAddress("unix:/x.sock").ok());
  auto tcp = ParseAddress("tcp://127.0.0.1:1234");
  ASSERT_TRUE(tcp.ok());
  EXPECT_EQ(tcp->host, "127.0.0.1");
  EXPECT_EQ(tcp->port, 1234);
  auto v6 = ParseAddress("tcp://[::1]:0");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->ToString(), "tcp://[::1]:0");
  for (const char* bad : {"unix://relative.sock", "tcp://host", "tcp://:80",
                          "tcp://h:99999", "tcp://h:x", "http://h:1", ""}) {
    auto r = ParseAddress(bad);
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    }
  }
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.3.2.1"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("example.com"));
}

TEST(AddressTest, TlsNeedsAllThreeFiles) {
  auto r = ReadTlsFiles({.ca = "/x", .cert = "", .key = ""}, "test");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  r = ReadTlsFiles({.ca = "/no/ca", .cert = "/no/c", .key = "/no/k"}, "t");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("/no/ca"), std::string::npos);
}

}  // namespace
}  // namespace kiln::control
