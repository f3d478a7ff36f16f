// End-to-end fixture of the Dockerfile frontend: the complete test engine of
// SolverTest (busybox:latest in the store, runc, a real Solver) behind an
// in-process BridgeServer; each RunBuild serves kiln::dockerfile::Build
// through sdk::internal::ServeOnFd on a socketpair, as the gateway runs a
// frontend, and returns what the frontend returned. Skips without root or
// runc (SolverTest). Header-only.
#ifndef KILN_TESTS_FRONTENDS_DOCKERFILE_FRONTEND_FIXTURE_H_
#define KILN_TESTS_FRONTENDS_DOCKERFILE_FRONTEND_FIXTURE_H_

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/dockerfile/frontend.h"
#include "kiln/gateway/bridge_server.h"
#include "kiln/gateway/serve_fd.h"
#include "kiln/sdk/serve.h"
#include "kiln/solver/image_source.h"
#include "kiln/solver/secrets.h"
#include "support/frontend_harness.h"
#include "support/solver_fixture.h"
#include "support/test_util.h"

namespace kiln::dockerfile::testing {

using solver::testing::MakeTempDir;
using solver::testing::RemoveTree;

class MapSecrets : public solver::SecretProvider {
 public:
  std::map<std::string, std::string> secrets;
  Result<std::string> GetSecret(std::string_view id) override {
    auto it = secrets.find(std::string(id));
    if (it == secrets.end())
      return NotFoundError("secret " + std::string(id) + " not found");
    return it->second;
  }
};

// What one frontend run produced.
struct BuildRun {
  int exit_code = -1;
  gateway::FinalResult result;  // error or refs + metadata
  std::string Config() const {
    auto it = result.metadata.find("containerimage.config");
    return it == result.metadata.end() ? "" : it->second;
  }
};

class FrontendTest : public solver::testing::SolverTest {
 protected:
  void SetUp() override {
    SolverTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    context_ = MakeTempDir("kiln-df-context");
    image_source_ = std::make_unique<solver::ImageSource>(
        images_.get(), nullptr, snapshots_.get());
    locals_["context"] = context_;
    locals_["dockerfile"] = context_;
  }
  void TearDown() override {
    image_source_.reset();
    if (!context_.empty()) RemoveTree(context_);
    for (const std::string& d : extra_dirs_) RemoveTree(d);
    SolverTest::TearDown();
  }

  void Write(const std::string& rel, const std::string& data) {
    solver::testing::WriteFile(context_ + "/" + rel, data);
  }
  // A new temp dir removed at TearDown.
  std::string ExtraDir() {
    extra_dirs_.push_back(MakeTempDir("kiln-df-extra"));
    return extra_dirs_.back();
  }

  // Runs the frontend once with `opts` ("key=value" each).
  BuildRun RunBuild(const std::vector<std::string>& opts) {
    BuildRun run;
    gateway::BuildEnv env;
    env.solver = solver_.get();
    env.snapshots = snapshots_.get();
    env.images = image_source_.get();
    env.base_request.locals = locals_;
    env.base_request.secrets = &secrets_;
    env.inputs = inputs_;
    gateway::testing::InProcessRun in_process =
        gateway::testing::RunFrontendInProcess(std::move(env), opts,
                                               dockerfile::Build);
    EXPECT_TRUE(in_process.error.ok()) << in_process.error.ToString();
    run.exit_code = in_process.exit_code;
    EXPECT_TRUE(in_process.result.has_value())
        << "the frontend returned nothing";
    if (in_process.result) run.result = std::move(*in_process.result);
    return run;
  }

  // The file at `path` of a returned ref ("<missing>" when absent).
  std::string ResultFile(const gateway::ResultRef& ref,
                         const std::string& path) {
    if (ref.snapshot.empty()) return "<empty result>";
    solver::testing::MountedSnapshot mounted(*snapshots_, ref.snapshot);
    if (!solver::testing::Exists(mounted.path() + path)) return "<missing>";
    return solver::testing::ReadFile(mounted.path() + path);
  }
  std::string ResultFile(const BuildRun& run, const std::string& path) {
    if (!run.result.ref) return "<no ref>";
    return ResultFile(*run.result.ref, path);
  }

  std::string context_;
  std::vector<std::string> extra_dirs_;
  std::map<std::string, std::string> locals_;
  MapSecrets secrets_;
  std::map<std::string, pb::Definition> inputs_;  // the Inputs RPC's answer
  std::unique_ptr<solver::ImageSource> image_source_;
};

}  // namespace kiln::dockerfile::testing

#endif  // KILN_TESTS_FRONTENDS_DOCKERFILE_FRONTEND_FIXTURE_H_
