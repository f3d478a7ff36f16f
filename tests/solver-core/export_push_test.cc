// A multi-platform, attested image pushed to a real registry: the index,
// both platforms' manifests and the attestation manifests arrive, and skopeo
// reads the index and each platform back from the registry.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "kiln/solver/exporter.h"
#include "kiln/solver/registry.h"
#include "layer_diff_test_util.h"
#include "support/engine_setup.h"
#include "support/registry_fixture.h"

namespace kiln::solver {
namespace {

using Json = nlohmann::json;

TEST(ExportPushTest, PushesAnAttestedIndex) {
  if (std::string why = testing::TestRegistry::UnavailableReason();
      !why.empty() || !testing::HaveProgram("skopeo")) {
    GTEST_SKIP() << "needs docker-registry and skopeo: " << why;
  }
  testing::TempDir tmp("kiln-export-push-");
  auto snaps = OpenSnapshotter(tmp.path() + "/snaps", SnapshotterKind::kCopy);
  ASSERT_TRUE(snaps.ok());
  auto stores = testing::OpenStores(tmp.path());
  ASSERT_TRUE(stores.ok()) << stores.status().ToString();
  std::filesystem::create_directories(tmp.path() + "/work");
  testing::CommitStep(
      **snaps, tmp.path(), "tree", "",
      [](const std::string& d) { testing::WriteFile(d + "/hello", "hi\n"); });
  auto registry = testing::TestRegistry::Start();
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  RegistryClient client((*registry)->ClientConfig(), stores->content.get());
  ExportEnv env{
      snaps->get(), stores->content.get(), stores->images.get(), &client,
      nullptr,      tmp.path() + "/work"};
  std::vector<ExportSource> sources;
  for (const char* arch : {"amd64", "arm64"}) {
    sources.push_back(
        ExportSource{.snapshot = "tree",
                     .platform = {"linux", arch, "", "", {}},
                     .image_config = "",
                     .created_by = {},
                     .attestations = {Attestation{
                         .predicate_type = "https://slsa.dev/provenance/v0.2",
                         .predicate_json = R"({"builder":{"id":"kiln"}})"}}});
  }
  const std::string name = (*registry)->host() + "/kiln/multi:1";
  auto request = ParseOutputSpec("type=image,push=true,name=" + name);
  ASSERT_TRUE(request.ok());
  auto out = ExportPlatforms(*request, sources, env);
  ASSERT_TRUE(out.ok()) << out.status().ToString() << (*registry)->Log();

  auto raw = testing::RunCommand(
      {"skopeo", "inspect", "--raw", "--tls-verify=false", "docker://" + name},
      /*merge_stderr=*/false);
  ASSERT_EQ(raw.exit_code, 0) << raw.output;
  Json index = Json::parse(raw.output);
  EXPECT_EQ(Digest::FromBytes(raw.output).str(),
            out->at("containerimage.digest"));
  ASSERT_EQ(index["manifests"].size(), 4u) << raw.output;
  EXPECT_EQ(index["manifests"][3]["annotations"]["vnd.docker.reference.type"],
            "attestation-manifest");
  // Each platform and an attestation manifest are in the registry.
  for (const char* arch : {"amd64", "arm64"}) {
    auto config = testing::RunCommand(
        {"skopeo", "inspect", "--config", "--tls-verify=false", "--override-os",
         "linux", "--override-arch", arch, "docker://" + name},
        /*merge_stderr=*/false);
    ASSERT_EQ(config.exit_code, 0) << config.output;
    EXPECT_EQ(Json::parse(config.output)["architecture"], arch);
  }
  std::string attestation = index["manifests"][2]["digest"];
  auto manifest = testing::RunCommand(
      {"skopeo", "inspect", "--raw", "--tls-verify=false",
       "docker://" + (*registry)->host() + "/kiln/multi@" + attestation},
      /*merge_stderr=*/false);
  ASSERT_EQ(manifest.exit_code, 0) << manifest.output;
  EXPECT_EQ(Json::parse(manifest.output)["layers"][0]["mediaType"],
            "application/vnd.in-toto+json");
}

}  // namespace
}  // namespace kiln::solver
