#include "kiln/solver/image_store.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/store_test.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

using testing::ReadFile;

class ImageStoreTest : public testing::StoreTest {
 protected:
  ImageStoreTest() : StoreTest("kiln-images-test-") {}

  Digest PutBlob(const std::string& data) {
    auto d = content_->Put(data);
    EXPECT_TRUE(d.ok());
    return *d;
  }

  // A manifest with a config for `arch` and the given layers (stored unless
  // `store_layers` is false). Returns its descriptor.
  oci::Descriptor MakeManifest(const std::string& arch,
                               const std::vector<std::string>& layers,
                               bool store_layers = true) {
    json diff_ids = json::array();
    json layer_descs = json::array();
    for (const auto& layer : layers) {
      Digest d = store_layers ? PutBlob(layer) : Digest::FromBytes(layer);
      diff_ids.push_back(d.str());
      layer_descs.push_back(
          {{"mediaType", "application/vnd.oci.image.layer.v1.tar"},
           {"digest", d.str()},
           {"size", layer.size()}});
    }
    std::string config =
        json{{"architecture", arch},
             {"os", "linux"},
             {"config", {{"Cmd", {"sh"}}}},
             {"rootfs", {{"type", "layers"}, {"diff_ids", diff_ids}}}}
            .dump();
    Digest config_digest = PutBlob(config);
    std::string manifest = json{
        {"schemaVersion", 2},
        {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
        {"config",
         {{"mediaType", "application/vnd.oci.image.config.v1+json"},
          {"digest", config_digest.str()},
          {"size", config.size()}}},
        {"layers",
         layer_descs}}.dump();
    oci::Descriptor d;
    d.media_type = "application/vnd.oci.image.manifest.v1+json";
    d.digest = PutBlob(manifest);
    d.size = static_cast<int64_t>(manifest.size());
    d.platform = llb::Platform{"linux", arch, "", "", {}};
    return d;
  }

  oci::Descriptor MakeIndex(const std::vector<oci::Descriptor>& manifests) {
    json children = json::array();
    for (const auto& m : manifests) {
      children.push_back(
          {{"mediaType", m.media_type},
           {"digest", m.digest.str()},
           {"size", m.size},
           {"platform",
            {{"os", "linux"}, {"architecture", m.platform->architecture}}}});
    }
    std::string index = json{
        {"schemaVersion", 2},
        {"mediaType", "application/vnd.oci.image.index.v1+json"},
        {"manifests",
         children}}.dump();
    oci::Descriptor d;
    d.media_type = "application/vnd.oci.image.index.v1+json";
    d.digest = PutBlob(index);
    d.size = static_cast<int64_t>(index.size());
    return d;
  }

  json IndexJson() const {
    return json::parse(ReadFile(root_ + "/images/index.json"));
  }
};

TEST_F(ImageStoreTest, OpenCreatesAnOciLayoutSharingTheContentBlobs) {
  EXPECT_EQ(ReadFile(root_ + "/images/oci-layout"),
            R"({"imageLayoutVersion":"1.0.0"})");
  json index = IndexJson();
  EXPECT_EQ(index["schemaVersion"], 2);
  EXPECT_TRUE(index["manifests"].empty());
  fs::path link = root_ + "/images/blobs";
  ASSERT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(fs::read_symlink(link), fs::path("../content/blobs"));
  Digest d = PutBlob("shared");
  EXPECT_EQ(ReadFile(root_ + "/images/blobs/sha256/" + std::string(d.hex())),
            "shared");

  auto again = ImageStore::Open(root_ + "/images", content_.get());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(fs::read_symlink(link), fs::path("../content/blobs"));

  fs::create_directories(root_ + "/other/blobs");
  auto bad = ImageStore::Open(root_ + "/other", content_.get());
  EXPECT_EQ(bad.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(ImageStoreTest, PutGetListByNormalizedName) {
  oci::Descriptor busybox = MakeManifest("amd64", {"layer-a"});
  oci::Descriptor app = MakeManifest("amd64", {"layer-b"});
  ASSERT_TRUE(images_->Put("busybox", busybox).ok());
  ASSERT_TRUE(images_->Put("localhost:5000/app:1.0", app).ok());

  auto got = images_->Get("docker.io/library/busybox:latest");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->name, "docker.io/library/busybox:latest");
  EXPECT_EQ(got->target.digest, busybox.digest);
  EXPECT_EQ(got->target.size, busybox.size);
  EXPECT_EQ(got->target.annotations.at("org.opencontainers.image.ref.name"),
            "docker.io/library/busybox:latest");
  EXPECT_EQ(got->target.annotations.at("io.containerd.image.name"),
            "docker.io/library/busybox:latest");
  EXPECT_EQ(images_->Get("busybox:latest")->target.digest, busybox.digest);

  auto list = images_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "docker.io/library/busybox:latest");
  EXPECT_EQ((*list)[1].name, "localhost:5000/app:1.0");

  json index = IndexJson();
  ASSERT_EQ(index["manifests"].size(), 2u);
  EXPECT_EQ(index["manifests"][0]["digest"], busybox.digest.str());
  EXPECT_EQ(
      index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
      "docker.io/library/busybox:latest");
  EXPECT_EQ(index["manifests"][1]["annotations"]["io.containerd.image.name"],
            "localhost:5000/app:1.0");

  // Replacing keeps one entry per name.
  ASSERT_TRUE(images_->Put("docker.io/library/busybox", app).ok());
  EXPECT_EQ(images_->Get("busybox")->target.digest, app.digest);
  EXPECT_EQ(IndexJson()["manifests"].size(), 2u);
}

TEST_F(ImageStoreTest, GetErrors) {
  EXPECT_EQ(images_->Get("absent").status().code(), StatusCode::kNotFound);
  EXPECT_NE(images_->Get("absent").status().message().find(
                "docker.io/library/absent:latest"),
            std::string::npos);
  EXPECT_EQ(images_->Get("UPPERCASE").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(images_->Put("bad name", MakeManifest("amd64", {})).code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ImageStoreTest, PutRefusesIncompleteImages) {
  oci::Descriptor no_layer =
      MakeManifest("amd64", {"never stored"}, /*store_layers=*/false);
  Status s = images_->Put("broken", no_layer);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();

  oci::Descriptor absent;
  absent.media_type = "application/vnd.oci.image.manifest.v1+json";
  absent.digest = Digest::FromBytes("no such manifest");
  absent.size = 16;
  EXPECT_EQ(images_->Put("broken", absent).code(),
            StatusCode::kFailedPrecondition);

  oci::Descriptor layer;
  layer.media_type = "application/vnd.oci.image.layer.v1.tar";
  layer.digest = PutBlob("just a layer");
  EXPECT_EQ(images_->Put("broken", layer).code(), StatusCode::kInvalidArgument);

  // An index needs at least one complete child; absent children are fine.
  oci::Descriptor amd64 = MakeManifest("amd64", {"x"});
  oci::Descriptor arm64 = MakeManifest("arm64", {"y"});
  oci::Descriptor index = MakeIndex({amd64, arm64});
  ASSERT_TRUE(content_->Delete(arm64.digest).ok());
  EXPECT_TRUE(images_->Put("multi", index).ok());
  ASSERT_TRUE(content_->Delete(amd64.digest).ok());
  EXPECT_EQ(images_->Put("multi2", index).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE(images_->Get("broken").status().code() == StatusCode::kNotFound);
}

TEST_F(ImageStoreTest, RemoveCollectsOnlyUnreferencedBlobs) {
  oci::Descriptor a = MakeManifest("amd64", {"shared layer", "only a"});
  oci::Descriptor b = MakeManifest("arm64", {"shared layer", "only b"});
  Digest unrelated = PutBlob("cache blob no image names");
  ASSERT_TRUE(images_->Put("a", a).ok());
  ASSERT_TRUE(images_->Put("b", b).ok());
  ASSERT_TRUE(images_->Put("a-again", a).ok());

  auto closure_a = images_->Closure(a);
  ASSERT_TRUE(closure_a.ok());
  ASSERT_EQ(closure_a->size(), 4u);  // manifest, config, two layers
  EXPECT_EQ((*closure_a)[0], a.digest);

  ASSERT_TRUE(images_->Remove("a").ok());
  for (const auto& d : *closure_a)
    EXPECT_TRUE(content_->Has(d)) << "still used by a-again";

  ASSERT_TRUE(images_->Remove("a-again").ok());
  EXPECT_FALSE(content_->Has(a.digest));
  EXPECT_FALSE(content_->Has(Digest::FromBytes("only a")));
  EXPECT_TRUE(content_->Has(Digest::FromBytes("shared layer")));
  EXPECT_TRUE(content_->Has(Digest::FromBytes("only b")));
  EXPECT_TRUE(content_->Has(b.digest));
  EXPECT_TRUE(content_->Has(unrelated));
  EXPECT_EQ(images_->Remove("a").code(), StatusCode::kNotFound);

  ASSERT_TRUE(images_->Remove("b").ok());
  EXPECT_FALSE(content_->Has(Digest::FromBytes("shared layer")));
  EXPECT_EQ(content_->List()->size(), 1u);
  EXPECT_TRUE(images_->List()->empty());
}

TEST_F(ImageStoreTest, RemoveSweepsNothingWhileABlobLeaseIsHeld) {
  oci::Descriptor a = MakeManifest("amd64", {"layer of a"});
  oci::Descriptor b = MakeManifest("amd64", {"layer of b"});
  ASSERT_TRUE(images_->Put("a", a).ok());
  ASSERT_TRUE(images_->Put("b", b).ok());
  {
    // E.g. a pull elsewhere that found "layer of a" already stored and is
    // about to name an image using it.
    auto lease = images_->HoldBlobs();
    ASSERT_TRUE(lease.ok()) << lease.status().ToString();
    ASSERT_TRUE(images_->Remove("a").ok());
    EXPECT_FALSE(images_->Get("a").ok());  // the name goes at once
    EXPECT_TRUE(content_->Has(a.digest));
    EXPECT_TRUE(content_->Has(Digest::FromBytes("layer of a")));
  }
  // Without leases the sweep runs again.
  ASSERT_TRUE(images_->Remove("b").ok());
  EXPECT_FALSE(content_->Has(b.digest));
  EXPECT_FALSE(content_->Has(Digest::FromBytes("layer of b")));
}

TEST_F(ImageStoreTest, ResolvePicksThePlatform) {
  oci::Descriptor amd64 = MakeManifest("amd64", {"x"});
  oci::Descriptor arm64 = MakeManifest("arm64", {"y"});
  oci::Descriptor index = MakeIndex({amd64, arm64});
  ASSERT_TRUE(images_->Put("multi", index).ok());

  auto arm = images_->Resolve(images_->Get("multi")->target,
                              llb::Platform{"linux", "arm64"});
  ASSERT_TRUE(arm.ok()) << arm.status().ToString();
  EXPECT_EQ(arm->manifest_descriptor.digest, arm64.digest);
  EXPECT_EQ(arm->config.architecture, "arm64");
  EXPECT_EQ(Digest::FromBytes(arm->config_bytes), arm->manifest.config.digest);
  ASSERT_EQ(arm->manifest.layers.size(), 1u);
  EXPECT_EQ(arm->manifest.layers[0].digest, Digest::FromBytes("y"));
  EXPECT_EQ(arm->config.diff_ids, std::vector<Digest>{Digest::FromBytes("y")});

  EXPECT_EQ(
      images_->Resolve(index, llb::Platform{"linux", "s390x"}).status().code(),
      StatusCode::kNotFound);
  auto single = images_->Resolve(amd64, llb::Platform{"linux", "amd64"});
  ASSERT_TRUE(single.ok());
  EXPECT_EQ(single->manifest_descriptor.digest, amd64.digest);

  ASSERT_TRUE(content_->Delete(Digest::FromBytes(arm->config_bytes)).ok());
  EXPECT_EQ(
      images_->Resolve(index, llb::Platform{"linux", "arm64"}).status().code(),
      StatusCode::kNotFound);
}

TEST_F(ImageStoreTest, ClosureReportsMissingBlobs) {
  oci::Descriptor amd64 = MakeManifest("amd64", {"x"});
  oci::Descriptor arm64 = MakeManifest("arm64", {"y"}, /*store_layers=*/false);
  oci::Descriptor index = MakeIndex({amd64, arm64});
  ASSERT_TRUE(content_->Delete(arm64.digest).ok());
  std::vector<Digest> missing;
  auto closure = images_->Closure(index, &missing);
  ASSERT_TRUE(closure.ok());
  EXPECT_EQ(closure->size(),
            5u);  // index, amd64 manifest+config+layer, arm64 manifest
  EXPECT_EQ(missing, std::vector<Digest>{arm64.digest});
}

TEST_F(ImageStoreTest, ConcurrentProcessesNeverLoseUpdates) {
  std::vector<oci::Descriptor> manifests;
  for (int i = 0; i < 8; ++i)
    manifests.push_back(
        MakeManifest("amd64", {std::string("l").append(std::to_string(i))}));
  std::vector<pid_t> children;
  for (int i = 0; i < 8; ++i) {
    pid_t pid = testing::ForkChild([&] {
      auto content = ContentStore::Open(root_ + "/content");
      if (!content.ok()) return 2;
      auto images = ImageStore::Open(root_ + "/images", content->get());
      if (!images.ok()) return 3;
      for (int round = 0; round < 5; ++round) {
        if (!(*images)
                 ->Put(std::string("img")
                           .append(std::to_string(i))
                           .append(":")
                           .append(std::to_string(round)),
                       manifests[i])
                 .ok()) {
          return 4;
        }
      }
      return 0;
    });
    ASSERT_GE(pid, 0);
    children.push_back(pid);
  }
  for (pid_t pid : children) ASSERT_EQ(testing::WaitExitCode(pid), 0);
  auto list = images_->List();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 40u);
  EXPECT_EQ(images_->Get("img7:4")->target.digest, manifests[7].digest);
}

}  // namespace
}  // namespace kiln::solver
