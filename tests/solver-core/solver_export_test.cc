// Exporting solver results: an image pushed to a registry and read back by
// skopeo with the layers the solve made on top of busybox's.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "kiln/llb/exec.h"
#include "kiln/llb/source.h"
#include "kiln/solver/exporter.h"
#include "kiln/solver/registry.h"
#include "support/registry_fixture.h"
#include "support/solver_fixture.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

class SolverExportTest : public testing::SolverTest {};

TEST_F(SolverExportTest, PushesTheResultAsAnImage) {
  if (IsSkipped() || HasFatalFailure()) return;
  if (!testing::TestRegistry::UnavailableReason().empty() ||
      !testing::HaveProgram("skopeo")) {
    KILN_SKIP_UNLESS_REQUIRED("docker-registry or skopeo is not installed");
  }
  auto registry = testing::TestRegistry::Start();
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  RegistryClient client((*registry)->ClientConfig(), content_.get());

  llb::State built =
      Busybox()
          .Run({.args = {"/bin/sh", "-c", "echo pushed > /pushed.txt"}})
          .Root();
  auto result = Solve(built);
  ASSERT_TRUE(result.ok()) << result.status().ToString();

  auto request = ParseOutputSpec("type=image,name=" + (*registry)->host() +
                                 "/kiln/pushed:1,push=true");
  ASSERT_TRUE(request.ok()) << request.status().ToString();
  ExportSource source;
  source.snapshot = result->snapshot;
  source.platform = result->platform;
  source.created_by = result->created_by;
  const std::string work = root_ + "/export-work";
  testing::RunCommand({"mkdir", "-p", work});
  ExportEnv env{snapshots_.get(), content_.get(),     images_.get(),
                &client,          &solver_->layers(), work};
  auto response = Export(*request, source, env);
  ASSERT_TRUE(response.ok()) << response.status().ToString();
  const std::string digest = (*response)["containerimage.digest"];

  auto inspect = testing::RunCommand(
      {"skopeo", "inspect", "--tls-verify=false",
       "docker://" + (*registry)->host() + "/kiln/pushed:1"},
      /*merge_stderr=*/false);
  ASSERT_EQ(inspect.exit_code, 0) << inspect.output;
  auto json = nlohmann::json::parse(inspect.output);
  EXPECT_EQ(json["Digest"], digest);
  // busybox's one layer, reused as is, and the exec's layer.
  ASSERT_EQ(json["Layers"].size(), 2u);
  auto base = images_->Get("docker.io/library/busybox:latest");
  ASSERT_TRUE(base.ok());
  auto resolved = images_->Resolve(base->target, result->platform);
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(json["Layers"][0], resolved->manifest.layers[0].digest.str());
}

}  // namespace
}  // namespace kiln::solver
