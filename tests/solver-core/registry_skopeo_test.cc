// Interoperability with other registry clients: images pushed by skopeo pull
// with kiln (same digests), images pushed by kiln read by skopeo and unpacked
// by umoci to the same file tree as their source.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "kiln/solver/registry.h"
#include "support/registry_fixture.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

namespace fs = std::filesystem;
using testing::RunCommand;

class RegistrySkopeoTest : public testing::RegistryTest {
 protected:
  RegistrySkopeoTest() : RegistryTest("kiln-registry-skopeo-") {}

  void SetUp() override {
    for (const char* tool : {"skopeo", "umoci", "tar"}) {
      if (!testing::HaveProgram(tool))
        KILN_SKIP_UNLESS_REQUIRED(tool << " is not installed");
    }
    RegistryTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    Result<std::string> layout = testing::MakeBusyboxLayout(dir_, "1.0");
    ASSERT_TRUE(layout.ok()) << layout.status().ToString();
    layout_ = *layout;
    store_ = OpenStore("content");
    ASSERT_NE(store_, nullptr);
  }

  std::string layout_;
  std::unique_ptr<ContentStore> store_;
};

TEST_F(RegistrySkopeoTest, ImagePushedBySkopeoPullsWithTheSameDigest) {
  const std::string digest_file = dir_ + "/skopeo-digest";
  testing::CommandResult copy = RunCommand(
      {"skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false",
       "--digestfile", digest_file, "oci:" + layout_ + ":1.0",
       "docker://" + registry_->host() + "/skopeo/busybox:1.0"});
  ASSERT_EQ(copy.exit_code, 0) << copy.output;
  const std::string skopeo_digest = testing::ReadFile(digest_file);
  ASSERT_EQ(skopeo_digest.rfind("sha256:", 0), 0u) << skopeo_digest;

  RegistryClient client(registry_->ClientConfig(), store_.get());
  Result<oci::Descriptor> resolved = client.Resolve(Ref("skopeo/busybox:1.0"));
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->digest.str(), skopeo_digest);

  Result<PulledImage> image = client.Pull(Ref("skopeo/busybox:1.0"));
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->root.digest.str(), skopeo_digest);
  // Every blob kiln stored is the layout's blob, byte for byte.
  for (const oci::Descriptor& blob :
       {image->parsed_manifest.config, image->parsed_manifest.layers.at(0)}) {
    Result<std::string> stored = store_->ReadAll(blob.digest);
    ASSERT_TRUE(stored.ok()) << stored.status().ToString();
    EXPECT_EQ(*stored, testing::ReadFile(layout_ + "/blobs/sha256/" +
                                         std::string(blob.digest.hex())));
  }
}

TEST_F(RegistrySkopeoTest, ImagePushedByKilnIsReadBySkopeoAndUnpackedByUmoci) {
  Result<oci::Descriptor> root = testing::ImportLayout(layout_, store_.get());
  ASSERT_TRUE(root.ok()) << root.status().ToString();
  RegistryClient client(registry_->ClientConfig(), store_.get());
  Status pushed = client.Push(Ref("kiln/busybox:1.0"), *root);
  ASSERT_TRUE(pushed.ok()) << pushed.ToString();

  const std::string remote =
      "docker://" + registry_->host() + "/kiln/busybox:1.0";
  testing::CommandResult inspect = RunCommand(
      {"skopeo", "--insecure-policy", "inspect", "--tls-verify=false", remote});
  ASSERT_EQ(inspect.exit_code, 0) << inspect.output;
  EXPECT_NE(inspect.output.find("\"Digest\": \"" + root->digest.str() + "\""),
            std::string::npos)
      << inspect.output;
  EXPECT_NE(inspect.output.find("\"Architecture\": \"amd64\""),
            std::string::npos)
      << inspect.output;

  const std::string out_layout = dir_ + "/copied-oci";
  testing::CommandResult copy = RunCommand(
      {"skopeo", "--insecure-policy", "copy", "--src-tls-verify=false", remote,
       "oci:" + out_layout + ":1.0"});
  ASSERT_EQ(copy.exit_code, 0) << copy.output;

  const std::string bundle = dir_ + "/bundle";
  std::vector<std::string> unpack = {"umoci", "unpack", "--image",
                                     out_layout + ":1.0", bundle};
  if (geteuid() != 0) unpack.insert(unpack.begin() + 2, "--rootless");
  testing::CommandResult unpacked = RunCommand(unpack);
  ASSERT_EQ(unpacked.exit_code, 0) << unpacked.output;

  // The source rootfs: the layout's layer, extracted by tar.
  Result<std::string> manifest = store_->ReadAll(root->digest);
  ASSERT_TRUE(manifest.ok());
  Result<oci::Manifest> parsed = oci::ParseManifest(*manifest);
  ASSERT_TRUE(parsed.ok());
  const std::string source = dir_ + "/source-rootfs";
  fs::create_directories(source);
  testing::CommandResult extracted =
      RunCommand({"tar", "-xpzf", store_->BlobPath(parsed->layers.at(0).digest),
                  "-C", source});
  ASSERT_EQ(extracted.exit_code, 0) << extracted.output;

  const auto want = testing::DumpTree(source);
  const auto got = testing::DumpTree(bundle + "/rootfs");
  EXPECT_GT(want.size(), 100u);  // busybox and its applet links
  EXPECT_EQ(got, want);
  EXPECT_EQ(got.count("bin/busybox"), 1u);
}

}  // namespace
}  // namespace kiln::solver
