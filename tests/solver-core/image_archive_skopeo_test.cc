// Image archives against skopeo (containers/image): skopeo reads the OCI and
// Docker archives kiln writes and reports the same manifest, config and
// layers; archives skopeo writes load into kiln. Skipped without skopeo.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "image_archive_test_util.h"
#include "kiln/llb/platform.h"
#include "kiln/solver/image_archive.h"

namespace kiln::solver {
namespace {

using json = nlohmann::json;
using testing::CommandResult;
using testing::LayerTar;
using testing::StoreFixture;
namespace fs = std::filesystem;

// Runs `command` through the shell, capturing stdout (stderr goes to the log).
CommandResult RunShell(const std::string& command) {
  return testing::RunShell(command, /*merge_stderr=*/false);
}

class ImageArchiveSkopeoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!testing::HaveProgram("skopeo"))
      KILN_SKIP_UNLESS_REQUIRED("skopeo is not installed");
    tmp_ = std::make_unique<testing::TempDir>("kiln-archive-skopeo-");
    root_ = tmp_->path();
    ASSERT_FALSE(root_.empty());
    store_ = std::make_unique<StoreFixture>(root_ + "/store");
    layers_ = {LayerTar("one", "skopeo layer one\n"),
               LayerTar("two", "skopeo layer two\n")};
    image_ = store_->MakeImage(layers_, {"gzip", ""});
    ASSERT_TRUE(store_->images().Put("example.com/app:v1", image_).ok());
    auto resolved = store_->images().Resolve(image_, llb::HostPlatform());
    ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
    resolved_ = std::move(*resolved);
  }
  void TearDown() override {
    store_.reset();
    tmp_.reset();
  }

  // `skopeo <args>`, which must succeed; its stdout as JSON.
  json Skopeo(const std::string& args) {
    CommandResult o = RunShell("skopeo " + args);
    EXPECT_EQ(o.exit_code, 0) << "skopeo " << args;
    json j = json::parse(o.output, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << o.output;
    return j;
  }

  std::vector<std::string> DiffIds() const {
    std::vector<std::string> out;
    for (const auto& l : layers_) out.push_back(Digest::FromBytes(l).str());
    return out;
  }

  std::unique_ptr<testing::TempDir> tmp_;
  std::string root_;
  std::unique_ptr<StoreFixture> store_;
  std::vector<std::string> layers_;
  oci::Descriptor image_;
  ResolvedImage resolved_;
};

TEST_F(ImageArchiveSkopeoTest, SkopeoReadsKilnOciArchive) {
  std::string out = root_ + "/app-oci.tar";
  ASSERT_TRUE(SaveImages(store_->images(), {"example.com/app:v1"},
                         ArchiveFormat::kOci, out)
                  .ok());
  CommandResult raw = RunShell("skopeo inspect --raw oci-archive:" + out);
  ASSERT_EQ(raw.exit_code, 0);
  EXPECT_EQ(Digest::FromBytes(raw.output), image_.digest);
  json info = Skopeo("inspect oci-archive:" + out);
  std::vector<std::string> layers;
  for (const auto& l : resolved_.manifest.layers)
    layers.push_back(l.digest.str());
  EXPECT_EQ(info["Layers"], json(layers));
  EXPECT_EQ(info["Architecture"], llb::HostPlatform().architecture);
  json config = Skopeo("inspect --config --raw oci-archive:" + out);
  EXPECT_EQ(config["architecture"], llb::HostPlatform().architecture);
  EXPECT_EQ(config["rootfs"]["diff_ids"], json(DiffIds()));
}

TEST_F(ImageArchiveSkopeoTest, SkopeoReadsKilnDockerArchive) {
  std::string out = root_ + "/app-docker.tar";
  ASSERT_TRUE(SaveImages(store_->images(), {"example.com/app:v1"},
                         ArchiveFormat::kDocker, out)
                  .ok());
  json info = Skopeo("inspect docker-archive:" + out);
  EXPECT_EQ(info["Layers"],
            json(DiffIds()));  // uncompressed: layer digests are diff_ids
  json manifest = Skopeo("inspect --raw docker-archive:" + out);
  EXPECT_EQ(manifest["config"]["digest"],
            resolved_.manifest.config.digest.str());
  CommandResult config =
      RunShell("skopeo inspect --config --raw docker-archive:" + out);
  ASSERT_EQ(config.exit_code, 0);
  EXPECT_EQ(config.output, resolved_.config_bytes);
}

TEST_F(ImageArchiveSkopeoTest, SkopeoArchivesLoadIntoKiln) {
  std::string oci_tar = root_ + "/app-oci.tar";
  ASSERT_TRUE(SaveImages(store_->images(), {"example.com/app:v1"},
                         ArchiveFormat::kOci, oci_tar)
                  .ok());
  std::string layout = root_ + "/layout";
  fs::create_directories(layout);
  ASSERT_EQ(RunShell("tar -C " + layout + " -xf " + oci_tar).exit_code, 0);

  // skopeo's Docker archive: <hex>.json config, <diff_id>.tar layers.
  std::string docker_tar = root_ + "/skopeo-docker.tar";
  ASSERT_EQ(
      RunShell("skopeo --insecure-policy copy -q oci:" + layout +
               ":v1 docker-archive:" + docker_tar + ":example.com/copied:v2")
          .exit_code,
      0);
  StoreFixture fresh(root_ + "/fresh");
  auto loaded = LoadImages(fresh.images(), docker_tar);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].name, "example.com/copied:v2");
  auto resolved =
      fresh.images().Resolve((*loaded)[0].target, llb::HostPlatform());
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->manifest.config.digest, resolved_.manifest.config.digest);
  EXPECT_EQ(resolved->config.diff_ids, resolved_.config.diff_ids);
  for (size_t i = 0; i < layers_.size(); ++i) {
    EXPECT_EQ(resolved->manifest.layers[i].digest,
              Digest::FromBytes(layers_[i]));
  }

  // skopeo's OCI archive names the entry by ref.name only.
  std::string skopeo_oci = root_ + "/skopeo-oci.tar";
  ASSERT_EQ(RunShell("skopeo --insecure-policy copy -q oci:" + layout +
                     ":v1 oci-archive:" + skopeo_oci + ":example.com/copied:v3")
                .exit_code,
            0);
  auto loaded_oci = LoadImages(fresh.images(), skopeo_oci);
  ASSERT_TRUE(loaded_oci.ok()) << loaded_oci.status().ToString();
  EXPECT_EQ((*loaded_oci)[0].name, "example.com/copied:v3");
  // skopeo compresses the uncompressed layer for an OCI destination, so the
  // manifest changes; the config and diff_ids do not.
  auto resolved_oci =
      fresh.images().Resolve((*loaded_oci)[0].target, llb::HostPlatform());
  ASSERT_TRUE(resolved_oci.ok()) << resolved_oci.status().ToString();
  EXPECT_EQ(resolved_oci->manifest.config.digest.str(),
            resolved_.manifest.config.digest.str());
  EXPECT_EQ(resolved_oci->config.diff_ids, resolved_.config.diff_ids);
}

}  // namespace
}  // namespace kiln::solver
