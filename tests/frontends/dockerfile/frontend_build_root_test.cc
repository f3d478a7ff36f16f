// kiln::dockerfile::Build end to end: Dockerfiles from a temp context built
// by a real solver (runc, busybox) behind an in-process BridgeServer, the
// frontend talking to it over a socketpair. Needs root and runc; skips
// otherwise.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "frontend_fixture.h"

namespace kiln::dockerfile::testing {
namespace {

using Json = nlohmann::json;

TEST_F(FrontendTest, MultiStageBuildsOnlyTheTargetAndItsConfig) {
  Write("Dockerfile", R"(FROM busybox AS build
RUN echo built > /out.txt
FROM scratch AS final
COPY --from=build /out.txt /final.txt
LABEL stage=final
ENV GREETING=hi
CMD ["/bin/true"]
FROM busybox AS broken
RUN exit 3
)");
  BuildRun run = RunBuild({"target=final", "label:extra=x"});
  ASSERT_EQ(run.exit_code, 0) << run.result.error.ToString();
  ASSERT_TRUE(run.result.ref.has_value());
  EXPECT_EQ(ResultFile(run, "/final.txt"), "built\n");
  EXPECT_EQ(ResultFile(run, "/bin/busybox"), "<missing>");
  Json config = Json::parse(run.Config());
  EXPECT_EQ(config["config"]["Labels"]["stage"], "final");
  EXPECT_EQ(config["config"]["Labels"]["extra"], "x");
  EXPECT_EQ(config["config"]["Cmd"], Json::array({"/bin/true"}));
  // Scratch stages start with the default PATH, as upstream's.
  EXPECT_EQ(config["config"]["Env"],
            Json::array({"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                         "/usr/bin:/sbin:/bin",
                         "GREETING=hi"}));
  EXPECT_EQ(config["os"], "linux");
  // A scratch-based target has no base image config.
  EXPECT_FALSE(run.result.metadata.contains("containerimage.base.config"));

  // The default target is the last stage, whose RUN fails.
  BuildRun broken = RunBuild({});
  EXPECT_NE(broken.exit_code, 0);
  EXPECT_FALSE(broken.result.error.ok());
}

TEST_F(FrontendTest, BusyboxBaseCarriesItsConfig) {
  Write("Dockerfile", "FROM busybox\nRUN echo hi > /hi\n");
  BuildRun run = RunBuild({});
  ASSERT_EQ(run.exit_code, 0) << run.result.error.ToString();
  EXPECT_EQ(ResultFile(run, "/hi"), "hi\n");
  EXPECT_NE(ResultFile(run, "/bin/busybox"), "<missing>");
  ASSERT_TRUE(run.result.metadata.contains("containerimage.base.config"));
  Json base = Json::parse(run.result.metadata["containerimage.base.config"]);
  EXPECT_TRUE(base.contains("rootfs"));
}

TEST_F(FrontendTest, CacheMountPersistsAcrossBuilds) {
  Write("Dockerfile", R"(FROM busybox
ARG N
RUN --mount=type=cache,target=/cache echo $N >> /cache/log && cp /cache/log /out
)");
  BuildRun first = RunBuild({"build-arg:N=1"});
  ASSERT_EQ(first.exit_code, 0) << first.result.error.ToString();
  EXPECT_EQ(ResultFile(first, "/out"), "1\n");
  BuildRun second = RunBuild({"build-arg:N=2"});
  ASSERT_EQ(second.exit_code, 0) << second.result.error.ToString();
  EXPECT_EQ(ResultFile(second, "/out"), "1\n2\n");
  EXPECT_EQ(ResultFile(second, "/cache/log"), "<missing>");
}

TEST_F(FrontendTest, SecretMountReadsTheProvidersSecret) {
  secrets_.secrets["tok"] = "s3cret";
  Write("Dockerfile", R"(FROM busybox
RUN --mount=type=secret,id=tok cat /run/secrets/tok > /out
)");
  BuildRun run = RunBuild({});
  ASSERT_EQ(run.exit_code, 0) << run.result.error.ToString();
  EXPECT_EQ(ResultFile(run, "/out"), "s3cret");
  EXPECT_NE(ResultFile(run, "/run/secrets/tok"), "s3cret");
}

TEST_F(FrontendTest, HeredocsInRunAndCopy) {
  Write("Dockerfile", R"(FROM busybox
RUN <<EOF
echo one > /h1
echo two >> /h1
EOF
COPY <<EOF /h2
hello heredoc
EOF
)");
  BuildRun run = RunBuild({});
  ASSERT_EQ(run.exit_code, 0) << run.result.error.ToString();
  EXPECT_EQ(ResultFile(run, "/h1"), "one\ntwo\n");
  EXPECT_EQ(ResultFile(run, "/h2"), "hello heredoc\n");
}

TEST_F(FrontendTest, NamedContexts) {
  std::string extra = ExtraDir();
  solver::testing::WriteFile(extra + "/f.txt", "from a named local");
  solver::testing::WriteFile(extra + "/skip.txt", "ignored");
  solver::testing::WriteFile(extra + "/.dockerignore", "skip.txt\n");
  locals_["extra"] = extra;
  Write("Dockerfile", R"(FROM mybox
COPY --from=files f.txt /named.txt
COPY --from=files . /all/
RUN cat /named.txt > /copied.txt
)");
  BuildRun run = RunBuild({"context:mybox=docker-image://busybox:latest",
                           "context:files=local:extra"});
  ASSERT_EQ(run.exit_code, 0) << run.result.error.ToString();
  EXPECT_EQ(ResultFile(run, "/named.txt"), "from a named local");
  EXPECT_EQ(ResultFile(run, "/copied.txt"), "from a named local");
  // The named local's own .dockerignore applies.
  EXPECT_EQ(ResultFile(run, "/all/f.txt"), "from a named local");
  EXPECT_EQ(ResultFile(run, "/all/skip.txt"), "<missing>");

  // Unknown forms are not supported, and say so.
  BuildRun git = RunBuild({"context:mybox=ftp://example.com/x"});
  EXPECT_NE(git.exit_code, 0);
  EXPECT_EQ(git.result.error.code(), StatusCode::kUnimplemented);
  EXPECT_NE(git.result.error.message().find("named context mybox"),
            std::string::npos)
      << git.result.error.message();
}

TEST_F(FrontendTest, DockerignoreIsHonoured) {
  Write("a.txt", "A");
  Write("secret.txt", "S");
  Write("sub/b.txt", "B");
  Write(".dockerignore", "# comment\nsecret.txt\n/sub\n");
  Write("Dockerfile", "FROM scratch\nCOPY . /ctx/\n");
  BuildRun run = RunBuild({});
  ASSERT_EQ(run.exit_code, 0) << run.result.error.ToString();
  EXPECT_EQ(ResultFile(run, "/ctx/a.txt"), "A");
  EXPECT_EQ(ResultFile(run, "/ctx/secret.txt"), "<missing>");
  EXPECT_EQ(ResultFile(run, "/ctx/sub/b.txt"), "<missing>");

  // <filename>.dockerignore beats .dockerignore.
  Write("build.Dockerfile", "FROM scratch\nCOPY . /ctx/\n");
  Write("build.Dockerfile.dockerignore", "a.txt\n");
  BuildRun own = RunBuild({"filename=build.Dockerfile"});
  ASSERT_EQ(own.exit_code, 0) << own.result.error.ToString();
  EXPECT_EQ(ResultFile(own, "/ctx/a.txt"), "<missing>");
  EXPECT_EQ(ResultFile(own, "/ctx/secret.txt"), "S");
}

TEST_F(FrontendTest, MultiPlatformReturnsARefMap) {
  Write("Dockerfile",
        "FROM scratch\nARG TARGETPLATFORM\nCOPY <<EOF /p\n"
        "$TARGETPLATFORM\nEOF\n");
  BuildRun run = RunBuild({"platform=linux/amd64", "multi-platform=true",
                           "build-arg:SOURCE_DATE_EPOCH=1700000000"});
  ASSERT_EQ(run.exit_code, 0) << run.result.error.ToString();
  ASSERT_EQ(run.result.refs.size(), 1u);
  ASSERT_TRUE(run.result.refs.contains("linux/amd64"));
  EXPECT_EQ(ResultFile(run.result.refs["linux/amd64"], "/p"), "linux/amd64\n");
  EXPECT_EQ(run.result.metadata["source.date.epoch/linux/amd64"], "1700000000");
  EXPECT_FALSE(run.result.ref.has_value());
  Json platforms = Json::parse(run.result.metadata["refs.platforms"]);
  EXPECT_EQ(platforms["Platforms"][0]["ID"], "linux/amd64");
  EXPECT_EQ(platforms["Platforms"][0]["Platform"]["architecture"], "amd64");
  EXPECT_TRUE(
      run.result.metadata.contains("containerimage.config/linux/amd64"));
}

TEST_F(FrontendTest, BadDockerfileIsLocated) {
  Write("Dockerfile", "FROM busybox\nRUN --mount=type=bogus true\n");
  BuildRun run = RunBuild({});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.result.error.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(run.result.error.message().find("bogus"), std::string::npos)
      << run.result.error.message();

  // Called directly, the error keeps its range.
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  gateway::BuildEnv env;
  env.solver = solver_.get();
  env.snapshots = snapshots_.get();
  env.images = image_source_.get();
  env.base_request.locals = locals_;
  gateway::BridgeServer bridge(std::move(env));
  auto server = gateway::ServeOnFd(&bridge, sv[0]);
  ASSERT_TRUE(server.ok());
  auto client = sdk::Client::FromFd(sv[1]);
  ASSERT_TRUE(client.ok());
  sdk::FrontendOptions opts;
  Result<sdk::BuildResult> built = Build(**client, opts);
  client->reset();
  (*server)->Shutdown();
  ASSERT_FALSE(built.ok());
  ASSERT_FALSE(built.status().ranges().empty()) << built.status().ToString();
  EXPECT_EQ(built.status().ranges()[0].file, "Dockerfile");
  EXPECT_EQ(built.status().ranges()[0].line, 2);
  EXPECT_NE(built.status().ToString().find("Dockerfile:2:1"), std::string::npos)
      << built.status().ToString();
}

TEST_F(FrontendTest, MissingDockerfileIsNotFound) {
  BuildRun run = RunBuild({"filename=nope.Dockerfile"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.result.error.code(), StatusCode::kNotFound);
  EXPECT_NE(run.result.error.message().find("nope.Dockerfile"),
            std::string::npos);
}

TEST_F(FrontendTest, CapsAndUnsupportedOpts) {
  Write("Dockerfile", "FROM scratch\nCOPY <<EOF /x\nok\nEOF\n");
  BuildRun known = RunBuild({"frontend.caps=moby.buildkit.frontend.contexts"});
  ASSERT_EQ(known.exit_code, 0) << known.result.error.ToString();
  EXPECT_EQ(ResultFile(known, "/x"), "ok\n");

  for (const std::string& opt :
       {std::string("frontend.caps=moby.buildkit.frontend.bogus"),
        // "+forward" defers the error, but nothing is forwarded here.
        std::string(
            "frontend.caps=moby.buildkit.frontend.gitquerystring+forward"),
        std::string("requestid=frontend.convertllb")}) {
    BuildRun run = RunBuild({opt});
    EXPECT_EQ(run.exit_code, 1) << opt;
    EXPECT_EQ(run.result.error.code(), StatusCode::kUnimplemented)
        << opt << ": " << run.result.error.ToString();
  }
}

TEST_F(FrontendTest, SelfSyntaxBuildsAndCmdlineStopsForwarding) {
  std::string self = "docker.io/kiln/dockerfile:" +
                     std::string(FrontendVersion()).substr(0, 1);
  Write("Dockerfile",
        "# syntax=" + self + "\nFROM scratch\nCOPY <<EOF /x\nself\nEOF\n");
  BuildRun run = RunBuild({});
  ASSERT_EQ(run.exit_code, 0) << run.result.error.ToString();
  EXPECT_EQ(ResultFile(run, "/x"), "self\n");

  // Another image is forwarded: a nested solve, which this bridge answers
  // Unimplemented. With cmdline set, the directive is ignored.
  Write("Dockerfile",
        "# syntax=docker/dockerfile:1\nFROM scratch\n"
        "COPY <<EOF /x\nbuilt here\nEOF\n");
  BuildRun forwarded = RunBuild({});
  EXPECT_NE(forwarded.exit_code, 0);
  EXPECT_EQ(forwarded.result.error.code(), StatusCode::kUnimplemented)
      << forwarded.result.error.ToString();
  BuildRun here = RunBuild({"cmdline=docker/dockerfile:1"});
  ASSERT_EQ(here.exit_code, 0) << here.result.error.ToString();
  EXPECT_EQ(ResultFile(here, "/x"), "built here\n");
}

}  // namespace
}  // namespace kiln::dockerfile::testing
