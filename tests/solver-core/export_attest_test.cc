// Attestations in the oci and image exporters, laid out as BuildKit does:
// an index with the image manifests, then one attestation manifest per
// attested platform (platform unknown/unknown, vnd.docker.reference.*
// annotations) whose in-toto layers hold Statements about the image; and the
// exporters that cannot carry them refusing.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "kiln/solver/exporter.h"
#include "layer_diff_test_util.h"
#include "support/engine_setup.h"
#include "support/export_fixture.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;
using Json = nlohmann::json;

constexpr char kPredicateType[] = "https://slsa.dev/provenance/v0.2";

class ExportAttestTest : public testing::ExportFixture {
 protected:
  ExportAttestTest() : ExportFixture("kiln-export-attest-") {}
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(ExportFixture::SetUp());
    testing::CommitStep(
        *snaps_, tmp_.path(), "tree", "",
        [](const std::string& d) { WriteFile(d + "/hello", "hi\n"); });
    for (const char* arch : {"amd64", "arm64"}) {
      sources_.push_back(ExportSource{
          .snapshot = "tree",
          .platform = {"linux", arch, "", "", {}},
          .image_config = "",
          .created_by = {},
          .attestations = {Attestation{
              .predicate_type = kPredicateType,
              .predicate_json = std::string(R"({"builder":{"id":"kiln-)") +
                                arch + R"("}})"}}});
    }
  }
};

TEST_F(ExportAttestTest, IndexHasImagesThenAttestationManifests) {
  auto out = Run("type=image,\"name=example.com/team/app:2,app\"");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  Json index = Blob(out->at("containerimage.digest"));
  ASSERT_EQ(index["manifests"].size(), 4u);
  const Json& m = index["manifests"];
  EXPECT_EQ(m[0]["platform"]["architecture"], "amd64");
  EXPECT_EQ(m[1]["platform"]["architecture"], "arm64");
  for (int i = 2; i < 4; ++i) {
    const Json& a = m[i];
    const Json& image = m[i - 2];
    EXPECT_EQ(a["platform"]["architecture"], "unknown");
    EXPECT_EQ(a["platform"]["os"], "unknown");
    EXPECT_EQ(a["annotations"]["vnd.docker.reference.type"],
              "attestation-manifest");
    EXPECT_EQ(a["annotations"]["vnd.docker.reference.digest"], image["digest"]);
    Json manifest = Blob(a["digest"]);
    EXPECT_EQ(manifest["mediaType"],
              "application/vnd.oci.image.manifest.v1+json");
    Json config = Blob(manifest["config"]["digest"]);
    EXPECT_EQ(config["architecture"], "unknown");
    EXPECT_EQ(config["os"], "unknown");
    ASSERT_EQ(manifest["layers"].size(), 1u);
    const Json& layer = manifest["layers"][0];
    EXPECT_EQ(layer["mediaType"], "application/vnd.in-toto+json");
    EXPECT_EQ(layer["annotations"]["in-toto.io/predicate-type"],
              kPredicateType);
    EXPECT_EQ(config["rootfs"]["diff_ids"][0], layer["digest"]);
    Json statement = Blob(layer["digest"]);
    EXPECT_EQ(statement["_type"], "https://in-toto.io/Statement/v0.1");
    EXPECT_EQ(statement["predicateType"], kPredicateType);
    std::string arch = i == 2 ? "amd64" : "arm64";
    EXPECT_EQ(statement["predicate"]["builder"]["id"], "kiln-" + arch);
    ASSERT_EQ(statement["subject"].size(), 2u);
    EXPECT_EQ(statement["subject"][0]["name"],
              "pkg:docker/example.com/team/app@2?platform=linux%2F" + arch);
    EXPECT_EQ(statement["subject"][1]["name"],
              "pkg:docker/app@latest?platform=linux%2F" + arch);
    std::string digest = image["digest"];
    EXPECT_EQ(statement["subject"][0]["digest"]["sha256"], digest.substr(7));
  }
  // The store resolves the host-like platform past the attestations.
  auto record = images_->Get("app");
  ASSERT_TRUE(record.ok());
  auto arm = images_->Resolve(record->target, {"linux", "arm64", "", "", {}});
  ASSERT_TRUE(arm.ok()) << arm.status().ToString();
}

TEST_F(ExportAttestTest, OnePlatformWithAttestationsBecomesAnIndex) {
  sources_.pop_back();
  std::string dir = tmp_.path() + "/layout";
  auto out = Run("type=oci,tar=false,dest=" + dir);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  Json top = Json::parse(ReadFile(dir + "/index.json"));
  EXPECT_EQ(top["manifests"][0]["mediaType"],
            "application/vnd.oci.image.index.v1+json");
  Json index = Blob(out->at("containerimage.digest"));
  ASSERT_EQ(index["manifests"].size(), 2u);
  Json manifest = Blob(index["manifests"][1]["digest"]);
  std::string layer = manifest["layers"][0]["digest"];
  // Every blob of the attestation is in the layout; no name: subject "_".
  Json statement =
      Json::parse(ReadFile(dir + "/blobs/sha256/" + layer.substr(7)));
  EXPECT_EQ(statement["subject"][0]["name"], "_");
}

TEST_F(ExportAttestTest, DockerMediaTypesDropLayerAnnotations) {
  auto out = Run("type=image,oci-mediatypes=false,name=legacy:1");
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  Json index = Blob(out->at("containerimage.digest"));
  EXPECT_EQ(index["mediaType"],
            "application/vnd.docker.distribution.manifest.list.v2+json");
  Json manifest = Blob(index["manifests"][2]["digest"]);
  EXPECT_EQ(manifest["mediaType"],
            "application/vnd.docker.distribution.manifest.v2+json");
  EXPECT_EQ(manifest["config"]["mediaType"],
            "application/vnd.docker.container.image.v1+json");
  EXPECT_EQ(manifest["layers"][0]["mediaType"], "application/vnd.in-toto+json");
  EXPECT_FALSE(manifest["layers"][0].contains("annotations"));
}

TEST_F(ExportAttestTest, ExportersWithoutAttestationsRefuse) {
  for (const std::string& spec :
       {"type=docker,name=a:1,dest=" + tmp_.path() + "/d.tar",
        "type=local,dest=" + tmp_.path() + "/l",
        "type=tar,dest=" + tmp_.path() + "/t.tar"}) {
    sources_.resize(1);
    auto out = Run(spec);
    ASSERT_FALSE(out.ok()) << spec;
    EXPECT_NE(out.status().message().find("attestations"), std::string::npos)
        << out.status().ToString();
  }
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() + "/d.tar"));
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() + "/l"));
}

TEST_F(ExportAttestTest, PredicateMustBeAJsonObject) {
  sources_[0].attestations[0].predicate_json = "[1,2";
  auto out = Run("type=image,name=bad:1");
  EXPECT_EQ(out.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(images_->Get("bad:1").ok());
}

}  // namespace
}  // namespace kiln::solver
