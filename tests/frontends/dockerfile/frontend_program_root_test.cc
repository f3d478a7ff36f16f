// The static kiln-dockerfile-frontend program: run as a process with the
// bridge on its stdin/stdout and its options in the environment, as the
// gateway runs a frontend, against an in-process BridgeServer with a real
// solver; and its --version and --dump-ast modes. Needs root and runc for
// the builds; skips otherwise.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "frontend_fixture.h"

#ifndef KILN_DOCKERFILE_FRONTEND
#error "KILN_DOCKERFILE_FRONTEND (the program's path) must be defined"
#endif

namespace kiln::dockerfile::testing {
namespace {

using Json = nlohmann::json;

class FrontendProgramTest : public FrontendTest {
 protected:
  // Runs the program once with `opts` ("key=value" each).
  BuildRun RunProgram(const std::vector<std::string>& opts) {
    BuildRun run;
    gateway::BuildEnv env;
    env.solver = solver_.get();
    env.snapshots = snapshots_.get();
    env.images = image_source_.get();
    env.base_request.locals = locals_;
    gateway::BridgeServer bridge(std::move(env));
    int sv[2];
    EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    auto server = gateway::ServeOnFd(&bridge, sv[0]);
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    if (!server.ok()) return run;
    std::vector<std::string> vars = {"BUILDKIT_SESSION_ID=test-session",
                                     "BUILDKIT_EXPORTEDPRODUCT=kiln"};
    for (size_t i = 0; i < opts.size(); ++i) {
      vars.push_back("BUILDKIT_FRONTEND_OPT_" + std::to_string(i) + "=" +
                     opts[i]);
    }
    std::vector<char*> envp;
    for (std::string& v : vars) envp.push_back(v.data());
    envp.push_back(nullptr);
    std::string program = KILN_DOCKERFILE_FRONTEND;
    char* argv[] = {program.data(), nullptr};
    int child_fd = sv[1];
    pid_t pid = solver::testing::ForkChild([&]() {
      dup2(child_fd, 0);
      dup2(child_fd, 1);
      execve(argv[0], argv, envp.data());
      return 127;
    });
    close(sv[1]);
    run.exit_code = solver::testing::WaitExitCode(pid);
    (*server)->Shutdown();
    std::optional<gateway::FinalResult> final_result = bridge.result();
    EXPECT_TRUE(final_result.has_value()) << "the frontend returned nothing";
    if (final_result) run.result = std::move(*final_result);
    return run;
  }
};

TEST_F(FrontendProgramTest, BuildsOverStdio) {
  Write("Dockerfile", R"(FROM busybox
ARG MSG
RUN echo "$MSG" > /msg
COPY <<EOF /doc
heredoc
EOF
)");
  BuildRun run = RunProgram({"build-arg:MSG=over stdio", "label:k=v"});
  ASSERT_EQ(run.exit_code, 0) << run.result.error.ToString();
  EXPECT_EQ(ResultFile(run, "/msg"), "over stdio\n");
  EXPECT_EQ(ResultFile(run, "/doc"), "heredoc\n");
  Json config = Json::parse(run.Config());
  EXPECT_EQ(config["config"]["Labels"]["k"], "v");
}

TEST_F(FrontendProgramTest, ReturnsTheLocatedErrorAndExits1) {
  Write("Dockerfile", "FROM busybox\nCOPY --bogus=1 a /b\n");
  BuildRun run = RunProgram({});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.result.error.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(run.result.error.message().find("bogus"), std::string::npos)
      << run.result.error.message();
}

TEST(FrontendProgram, VersionAndDumpAst) {
  std::string program = KILN_DOCKERFILE_FRONTEND;
  solver::testing::CommandResult version =
      solver::testing::RunCommand({program, "--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.output, "kiln-dockerfile-frontend " +
                                std::string(FrontendVersion()) + "\n");

  solver::testing::CommandResult dump = solver::testing::RunShell(
      "printf 'FROM busybox AS b\\nRUN --mount=type=cache,target=/c echo "
      "hi\\n' | " +
          program + " --dump-ast",
      /*merge_stderr=*/false);
  EXPECT_EQ(dump.exit_code, 0);
  EXPECT_EQ(dump.output,
            "(from \"busybox\" \"AS\" \"b\")\n"
            "(run [\"--mount=type=cache,target=/c\"] \"echo hi\")\n");

  solver::testing::CommandResult bad =
      solver::testing::RunShell("printf '' | " + program + " --dump-ast");
  EXPECT_EQ(bad.exit_code, 1);

  solver::testing::CommandResult usage =
      solver::testing::RunCommand({program, "--nope"});
  EXPECT_EQ(usage.exit_code, 2);
}

}  // namespace
}  // namespace kiln::dockerfile::testing
