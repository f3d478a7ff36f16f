// kilnd's Control.Solve with SolveRequest.Cache (BuildKit's CacheOptions):
// a build exports its cache to a registry on 127.0.0.1, and a daemon on a
// fresh state root imports it and runs none of the ops. Unknown cache types
// are refused as InvalidArgument.
#include <gtest/gtest.h>

#include "../../solver-core/support/registry_fixture.h"
#include "kiln/llb/file.h"
#include "kiln/llb/source.h"
#include "kilnd_fixture.h"

namespace kiln::kilnd_test {
namespace {

bool CachedVertex(const BuildRun& run, const std::string& name_part) {
  for (const auto& r : run.progress) {
    for (const auto& v : r.vertexes()) {
      if (v.name().find(name_part) != std::string::npos && v.cached() &&
          v.has_completed()) {
        return true;
      }
    }
  }
  return false;
}

TEST_F(KilndTest, CacheExportedByOneRootAnswersAnother) {
  if (auto why = solver::testing::TestRegistry::UnavailableReason();
      !why.empty()) {
    GTEST_SKIP() << why;
  }
  auto registry = solver::testing::TestRegistry::Start();
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  const std::string host = (*registry)->host();
  const std::string config = "[registry.\"" + host + "\"]\n  http = true\n";
  const std::string ref = host + "/kilnd/cache:1";
  llb::State state = llb::Scratch()
                         .File(llb::Mkfile("/first.txt", 0644, "one"))
                         .File(llb::Mkfile("/second.txt", 0644, "two"));

  StartDaemon({}, config);
  wire::SolveRequest exporting;
  *exporting.mutable_definition() = Definition(state);
  wire::CacheOptionsEntry* out = exporting.mutable_cache()->add_exports();
  out->set_type("registry");
  (*out->mutable_attrs())["ref"] = ref;
  (*out->mutable_attrs())["mode"] = "max";
  BuildRun first = Build(exporting, "export-build");
  ASSERT_TRUE(first.status.ok()) << first.status.error_message();
  EXPECT_EQ(first.Executed("/second.txt"), 1);
  EXPECT_TRUE(first.Started("exporting cache to " + ref));
  EXPECT_FALSE(first.Failed("exporting cache to " + ref));
  ASSERT_EQ(StopDaemon(), 0);

  // Another machine: a fresh root.
  root_ = dir_ + "/root2";
  StartDaemon({}, config);
  wire::SolveRequest importing;
  *importing.mutable_definition() = Definition(state);
  wire::CacheOptionsEntry* in = importing.mutable_cache()->add_imports();
  in->set_type("registry");
  (*in->mutable_attrs())["ref"] = ref;
  BuildRun second = Build(importing, "import-build");
  ASSERT_TRUE(second.status.ok()) << second.status.error_message();
  EXPECT_TRUE(second.Started("importing cache manifest from " + ref));
  EXPECT_EQ(second.Executed("/first.txt"), 0);
  EXPECT_EQ(second.Executed("/second.txt"), 0);
  EXPECT_TRUE(CachedVertex(second, "/second.txt"));

  // BuildKit's deprecated fields map to registry caches too; an unknown
  // type is refused before anything runs.
  wire::SolveRequest gha;
  *gha.mutable_definition() = Definition(state);
  gha.mutable_cache()->add_imports()->set_type("gha");
  BuildRun refused = Build(gha, "gha-build");
  EXPECT_EQ(refused.status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_NE(refused.status.error_message().find(
                "cache type gha is not supported by kiln"),
            std::string::npos)
      << refused.status.error_message();
}

}  // namespace
}  // namespace kiln::kilnd_test
