// ServeOnFd against the fake bridge: the build runs once with the parsed
// options, and its result or error reaches the engine through Return.
#include "kiln/sdk/serve.h"

#include <gtest/gtest.h>

#include <stdexcept>

#include "kiln/sdk/testing/fake_bridge.h"
#include "support/fake_env.h"

namespace kiln::sdk {
namespace {

using testing::BridgeServer;
using testing::FakeBridge;
using testing::FakeEnv;

TEST(ServeTest, RunsTheBuildAndReturnsItsResult) {
  FakeBridge bridge;
  bridge.file_data = "FROM alpine\n";
  bridge.solve.mutable_result()->mutable_ref()->set_id("ctx-ref");
  BridgeServer server(&bridge);
  FakeEnv env({"filename=Containerfile", "build-arg:A=1"});

  int builds = 0;
  int code = internal::ServeOnFd(
      server.client_fd(), env.envp(),
      [&](Client& client, const FrontendOptions& opts) -> Result<BuildResult> {
        ++builds;
        EXPECT_EQ(opts.build_args.at("A"), "1");
        KILN_ASSIGN_OR_RETURN(Ref ctx, client.Solve(pb::Definition{}));
        KILN_ASSIGN_OR_RETURN(std::string text,
                              client.ReadFile(ctx, opts.filename));
        return BuildResult{.ref = ctx,
                           .metadata = {{"containerimage.config", text}}};
      });
  EXPECT_EQ(code, 0);
  EXPECT_EQ(builds, 1);
  EXPECT_EQ(bridge.Calls(),
            (std::vector<std::string>{"Ping", "Solve", "ReadFile", "Return"}));
  EXPECT_EQ(bridge.last_read_file.filepath(), "Containerfile");
  ASSERT_EQ(bridge.returns.size(), 1u);
  EXPECT_EQ(bridge.returns[0].result().ref().id(), "ctx-ref");
  EXPECT_EQ(bridge.returns[0].result().metadata().at("containerimage.config"),
            "FROM alpine\n");
}

TEST(ServeTest, ReturnsTheBuildErrorWithItsLocation) {
  FakeBridge bridge;
  BridgeServer server(&bridge);
  FakeEnv env({});
  int code = internal::ServeOnFd(
      server.client_fd(), env.envp(),
      [](Client&, const FrontendOptions&) -> Result<BuildResult> {
        return FailedPreconditionError("stage \"x\" not found")
            .WithRange(
                SourceRange{.file = "Dockerfile", .line = 7, .column = 3});
      });
  EXPECT_EQ(code, 1);
  ASSERT_EQ(bridge.returns.size(), 1u);
  const auto& err = bridge.returns[0].error();
  EXPECT_EQ(err.code(), 9);
  EXPECT_EQ(err.message(), "stage \"x\" not found");
  ASSERT_EQ(err.details_size(), 1);
  EXPECT_NE(err.details(0).value().find("\"line\":7,\"character\":3"),
            std::string::npos);
}

TEST(ServeTest, BadOptionsAreReturnedWithoutBuilding) {
  FakeBridge bridge;
  BridgeServer server(&bridge);
  FakeEnv env({"platform=not/a/platform/at/all"});
  bool built = false;
  int code = internal::ServeOnFd(
      server.client_fd(), env.envp(),
      [&](Client&, const FrontendOptions&) -> Result<BuildResult> {
        built = true;
        return BuildResult{};
      });
  EXPECT_EQ(code, 1);
  EXPECT_FALSE(built);
  ASSERT_EQ(bridge.returns.size(), 1u);
  EXPECT_EQ(bridge.returns[0].error().code(), 3);
}

TEST(ServeTest, AThrowingBuildBecomesAnInternalError) {
  FakeBridge bridge;
  BridgeServer server(&bridge);
  FakeEnv env({});
  int code = internal::ServeOnFd(
      server.client_fd(), env.envp(),
      [](Client&, const FrontendOptions&) -> Result<BuildResult> {
        throw std::runtime_error("oops");
      });
  EXPECT_EQ(code, 1);
  ASSERT_EQ(bridge.returns.size(), 1u);
  EXPECT_EQ(bridge.returns[0].error().code(), 13);
  EXPECT_NE(bridge.returns[0].error().message().find("oops"),
            std::string::npos);
}

TEST(ServeTest, AFailedPingDoesNotBuild) {
  FakeBridge bridge;
  bridge.fail = grpc::Status(grpc::StatusCode::UNAVAILABLE, "gone");
  BridgeServer server(&bridge);
  FakeEnv env({});
  bool built = false;
  int code = internal::ServeOnFd(
      server.client_fd(), env.envp(),
      [&](Client&, const FrontendOptions&) -> Result<BuildResult> {
        built = true;
        return BuildResult{};
      });
  EXPECT_EQ(code, 1);
  EXPECT_FALSE(built);
  EXPECT_EQ(bridge.Calls(), std::vector<std::string>{"Ping"});
}

TEST(ServeTest, AFailedReturnIsAFailure) {
  FakeBridge bridge;
  BridgeServer server(&bridge);
  FakeEnv env({});
  int code = internal::ServeOnFd(
      server.client_fd(), env.envp(),
      [&](Client&, const FrontendOptions&) -> Result<BuildResult> {
        bridge.fail = grpc::Status(grpc::StatusCode::FAILED_PRECONDITION,
                                   "gateway result is already set");
        return BuildResult{};
      });
  EXPECT_EQ(code, 1);
  EXPECT_EQ(bridge.Calls(), (std::vector<std::string>{"Ping", "Return"}));
}

}  // namespace
}  // namespace kiln::sdk
