// LLB image sources (docker-image://, oci-layout://) and ResolveImageConfig
// through the embedded store, an OCI layout directory, and a real registry.
#include "kiln/solver/image_source.h"

#include <gtest/gtest.h>

#include "kiln/solver/image_import.h"
#include "kiln/solver/registry.h"
#include "support/registry_fixture.h"
#include "support/store_test.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

class ImageSourceTest : public testing::StoreTest {
 protected:
  ImageSourceTest() : StoreTest("kiln-image-source") {}

  void SetUp() override {
    StoreTest::SetUp();
    if (HasFatalFailure()) return;
    auto snaps = OpenSnapshotter(root_ + "/snapshots", SnapshotterKind::kCopy);
    ASSERT_TRUE(snaps.ok()) << snaps.status().ToString();
    snapshots_ = std::move(*snaps);
    auto layout = testing::MakeBusyboxLayout(root_ + "/layout", "1.36");
    ASSERT_TRUE(layout.ok()) << layout.status().ToString();
    layout_ = *layout;
  }
  void TearDown() override {
    snapshots_.reset();
    StoreTest::TearDown();
  }

  // Imports the busybox layout's image into the store under `name`.
  oci::Descriptor Busybox(const std::string& name) {
    auto desc = testing::ImportLayout(layout_, content_.get());
    EXPECT_TRUE(desc.ok()) << desc.status().ToString();
    desc->annotations.clear();
    EXPECT_TRUE(images_->Put(name, *desc).ok());
    return *desc;
  }

  static pb::SourceOp Op(const std::string& identifier,
                         std::map<std::string, std::string> attrs = {}) {
    pb::SourceOp op;
    op.set_identifier(identifier);
    for (auto& [k, v] : attrs) (*op.mutable_attrs())[k] = v;
    return op;
  }

  llb::Platform amd64_{"linux", "amd64", "", "", {}};
  std::string layout_;
  std::unique_ptr<Snapshotter> snapshots_;
};

TEST_F(ImageSourceTest, DockerImageFromTheStoreIsUnpacked) {
  oci::Descriptor desc = Busybox("busybox:1.36");
  ImageSource source(images_.get(), nullptr, snapshots_.get());
  auto loaded =
      source.Load(Op("docker-image://docker.io/library/busybox:1.36"), amd64_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->ref, "docker.io/library/busybox:1.36@" + desc.digest.str());
  EXPECT_EQ(loaded->image.manifest_descriptor.digest, desc.digest);
  ASSERT_FALSE(loaded->snapshot.empty());
  auto info = snapshots_->Stat(loaded->snapshot);
  ASSERT_TRUE(info.ok()) << info.status().ToString();
  EXPECT_EQ(info->kind, SnapshotKind::kCommitted);
  // The snapshot holds the image's files.
  auto mounts = snapshots_->Mounts(loaded->snapshot);
  ASSERT_TRUE(mounts.ok());
  ASSERT_EQ((*mounts)[0].type, "bind");
  EXPECT_FALSE(testing::ReadFile((*mounts)[0].source + "/etc/passwd").empty());

  // Loading again reuses the committed snapshot.
  auto again = source.Load(Op("docker-image://busybox:1.36"), amd64_);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->snapshot, loaded->snapshot);
}

TEST_F(ImageSourceTest, ResolveModesWithoutARegistry) {
  ImageSource source(images_.get(), nullptr, snapshots_.get());
  auto local = source.Load(
      Op("docker-image://alpine", {{"image.resolvemode", "local"}}), amd64_);
  ASSERT_FALSE(local.ok());
  EXPECT_EQ(local.status().code(), StatusCode::kNotFound);
  EXPECT_NE(local.status().message().find("docker.io/library/alpine:latest"),
            std::string::npos)
      << local.status().message();

  auto remote = source.Load(Op("docker-image://alpine"), amd64_);
  ASSERT_FALSE(remote.ok());
  EXPECT_EQ(remote.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(remote.status().message().find("source docker-image://alpine"),
            std::string::npos)
      << remote.status().message();

  auto bad_mode = source.Load(
      Op("docker-image://alpine", {{"image.resolvemode", "eager"}}), amd64_);
  EXPECT_EQ(bad_mode.status().code(), StatusCode::kInvalidArgument);
  auto bad_scheme = source.Load(Op("git://example.com/x"), amd64_);
  EXPECT_EQ(bad_scheme.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(ImageSourceTest, ChecksumAndLayerLimit) {
  oci::Descriptor desc = Busybox("busybox:1.36");
  ImageSource source(images_.get(), nullptr, snapshots_.get());
  std::string id = "docker-image://busybox:1.36";
  auto wrong = source.Load(
      Op(id, {{"image.checksum", "sha256:" + std::string(64, '0')}}), amd64_);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(wrong.status().message().find("checksum mismatch"),
            std::string::npos);
  EXPECT_TRUE(
      source.Load(Op(id, {{"image.checksum", desc.digest.str()}}), amd64_)
          .ok());

  auto too_many = source.Load(Op(id, {{"image.layerlimit", "2"}}), amd64_);
  EXPECT_EQ(too_many.status().code(), StatusCode::kInvalidArgument);
  auto zero = source.Load(Op(id, {{"image.layerlimit", "0"}}), amd64_);
  EXPECT_EQ(zero.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(source.Load(Op(id, {{"image.layerlimit", "1"}}), amd64_).ok());
}

TEST_F(ImageSourceTest, OciLayoutSource) {
  ImageSource source(images_.get(), nullptr, snapshots_.get(),
                     ImageSourceOptions{{{"ctx", layout_}}});
  auto resolved = source.ResolveOciLayoutConfig("ctx", "busybox:1.36", amd64_);
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  std::string pinned = "busybox@" + resolved->digest.str();
  EXPECT_NE(resolved->config.find("\"diff_ids\""), std::string::npos);

  auto loaded =
      source.Load(Op("oci-layout://" + pinned, {{"oci.store", "ctx"}}), amd64_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_FALSE(loaded->snapshot.empty());
  EXPECT_TRUE(content_->Has(
      loaded->image.manifest.layers[0].digest));  // copied, verified

  auto unknown = source.Load(
      Op("oci-layout://" + pinned, {{"oci.store", "other"}}), amd64_);
  EXPECT_EQ(unknown.status().code(), StatusCode::kFailedPrecondition);
  auto missing = source.ResolveOciLayoutConfig("ctx", "busybox:nope", amd64_);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
}

TEST_F(ImageSourceTest, ResolveImageConfigPullsOnceThenUsesTheStore) {
  if (auto why = testing::TestRegistry::UnavailableReason(); !why.empty())
    KILN_SKIP_UNLESS_REQUIRED(why);
  auto registry = testing::TestRegistry::Start();
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  RegistryClient client((*registry)->ClientConfig(), content_.get());
  oci::Descriptor desc = Busybox("busybox:1.36");
  auto ref =
      llb::ParseImageReference((*registry)->host() + "/lib/busybox:1.36");
  ASSERT_TRUE(ref.ok());
  ASSERT_TRUE(client.Push(*ref, desc).ok());

  // A second, empty store pulls from the registry.
  auto content2 = ContentStore::Open(root_ + "/content2");
  auto images2 = ImageStore::Open(root_ + "/images2", content2->get());
  RegistryClient client2((*registry)->ClientConfig(), content2->get());
  ImageSource source(images2->get(), &client2, snapshots_.get());
  auto r =
      source.ResolveImageConfig(ref->String(), amd64_, ResolveMode::kDefault);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->digest, desc.digest);
  EXPECT_EQ(r->ref, ref->String());
  auto named = (*images2)->Get(ref->String());
  ASSERT_TRUE(named.ok()) << named.status().ToString();

  // Default mode now answers from the store even with the registry gone.
  registry->reset();
  auto offline =
      source.ResolveImageConfig(ref->String(), amd64_, ResolveMode::kDefault);
  ASSERT_TRUE(offline.ok()) << offline.status().ToString();
  EXPECT_EQ(offline->config, r->config);
  auto forced =
      source.ResolveImageConfig(ref->String(), amd64_, ResolveMode::kForcePull);
  EXPECT_FALSE(forced.ok());
}

TEST_F(ImageSourceTest, PinnedImageLeftIncompleteIsPulledAgain) {
  if (auto why = testing::TestRegistry::UnavailableReason(); !why.empty()) {
    KILN_SKIP_UNLESS_REQUIRED(why);
  }
  auto registry = testing::TestRegistry::Start();
  ASSERT_TRUE(registry.ok()) << registry.status().ToString();
  RegistryClient client((*registry)->ClientConfig(), content_.get());
  oci::Descriptor desc = Busybox("busybox:1.36");
  auto ref = llb::ParseImageReference((*registry)->host() + "/lib/bb:1");
  ASSERT_TRUE(ref.ok());
  ASSERT_TRUE(client.Push(*ref, desc).ok());

  // A store holding only the manifest, as a pull killed after it leaves.
  auto content2 = ContentStore::Open(root_ + "/content2");
  auto images2 = ImageStore::Open(root_ + "/images2", content2->get());
  auto manifest = content_->ReadAll(desc.digest);
  ASSERT_TRUE(manifest.ok());
  ASSERT_TRUE((*content2)->Put(*manifest, &desc.digest).ok());
  std::string pinned =
      "docker-image://" + ref->Name() + "@" + desc.digest.str();

  ImageSource offline(images2->get(), nullptr, snapshots_.get());
  auto local =
      offline.Load(Op(pinned, {{"image.resolvemode", "local"}}), amd64_);
  ASSERT_FALSE(local.ok());
  EXPECT_EQ(local.status().code(), StatusCode::kNotFound);
  EXPECT_NE(local.status().message().find("not (completely)"),
            std::string::npos)
      << local.status().message();

  RegistryClient client2((*registry)->ClientConfig(), content2->get());
  ImageSource source(images2->get(), &client2, snapshots_.get());
  auto loaded = source.Load(Op(pinned), amd64_);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  for (const auto& layer : loaded->image.manifest.layers) {
    EXPECT_TRUE((*content2)->Has(layer.digest));
  }
}

}  // namespace
}  // namespace kiln::solver
