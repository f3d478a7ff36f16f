// End-to-end fixture of the YAML recipe frontend: the complete test engine
// of SolverTest (busybox:latest in the store, runc, a real Solver) behind an
// in-process BridgeServer; each RunBuild serves a frontend's build function
// (kiln::recipe::Build or kiln::dockerfile::Build, to compare them) through
// sdk::internal::ServeOnFd on a socketpair, as the gateway runs a frontend,
// and returns what it returned. Skips without root or runc (SolverTest).
// Header-only.
#ifndef KILN_TESTS_FRONTENDS_YAML_RECIPE_RECIPE_FIXTURE_H_
#define KILN_TESTS_FRONTENDS_YAML_RECIPE_RECIPE_FIXTURE_H_

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kiln/gateway/bridge_server.h"
#include "kiln/gateway/serve_fd.h"
#include "kiln/sdk/serve.h"
#include "kiln/solver/image_source.h"
#include "support/frontend_harness.h"
#include "support/solver_fixture.h"
#include "support/test_util.h"

namespace kiln::recipe::testing {

struct BuildRun {
  int exit_code = -1;
  gateway::FinalResult result;
  std::string Config() const {
    auto it = result.metadata.find("containerimage.config");
    return it == result.metadata.end() ? "" : it->second;
  }
};

class RecipeFrontendTest : public solver::testing::SolverTest {
 protected:
  void SetUp() override {
    SolverTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    context_ = solver::testing::MakeTempDir("kiln-recipe-context");
    image_source_ = std::make_unique<solver::ImageSource>(
        images_.get(), nullptr, snapshots_.get());
    locals_["context"] = context_;
    locals_["dockerfile"] = context_;
  }
  void TearDown() override {
    image_source_.reset();
    if (!context_.empty()) solver::testing::RemoveTree(context_);
    SolverTest::TearDown();
  }

  void Write(const std::string& rel, const std::string& data) {
    solver::testing::WriteFile(context_ + "/" + rel, data);
  }

  // Runs `build` once with `opts` ("key=value" each).
  BuildRun RunBuild(const sdk::BuildFunction& build,
                    const std::vector<std::string>& opts) {
    BuildRun run;
    gateway::BuildEnv env;
    env.solver = solver_.get();
    env.snapshots = snapshots_.get();
    env.images = image_source_.get();
    env.base_request.locals = locals_;
    gateway::testing::InProcessRun in_process =
        gateway::testing::RunFrontendInProcess(std::move(env), opts, build);
    EXPECT_TRUE(in_process.error.ok()) << in_process.error.ToString();
    run.exit_code = in_process.exit_code;
    EXPECT_TRUE(in_process.result.has_value())
        << "the frontend returned nothing";
    if (in_process.result) run.result = std::move(*in_process.result);
    return run;
  }

  // The file at `path` of the returned ref ("<missing>" when absent); a
  // symlink reads as "-> <target>".
  std::string ResultFile(const BuildRun& run, const std::string& path) {
    if (!run.result.ref) return "<no ref>";
    if (run.result.ref->snapshot.empty()) return "<empty result>";
    solver::testing::MountedSnapshot mounted(*snapshots_,
                                             run.result.ref->snapshot);
    std::string full = mounted.path() + path;
    char link[PATH_MAX];
    ssize_t n = readlink(full.c_str(), link, sizeof link);
    if (n >= 0) return "-> " + std::string(link, static_cast<size_t>(n));
    if (!solver::testing::Exists(full)) return "<missing>";
    return solver::testing::ReadFile(full);
  }

  std::string context_;
  std::map<std::string, std::string> locals_;
  std::unique_ptr<solver::ImageSource> image_source_;
};

}  // namespace kiln::recipe::testing

#endif  // KILN_TESTS_FRONTENDS_YAML_RECIPE_RECIPE_FIXTURE_H_
