// Multi-platform images: an index of busybox (linux/amd64) and a fake
// linux/arm64 image, pushed by kiln; pulls select the platform's manifest and
// fetch only its blobs; a missing platform is NotFound listing the offered
// ones.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "kiln/solver/registry.h"
#include "support/registry_fixture.h"

namespace kiln::solver {
namespace {

class RegistryPlatformTest : public testing::RegistryTest {
 protected:
  RegistryPlatformTest() : RegistryTest("kiln-registry-platform-") {}

  void SetUp() override {
    RegistryTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    source_ = OpenStore("source");
    ASSERT_NE(source_, nullptr);

    Result<std::string> layout = testing::MakeBusyboxLayout(dir_, "1.0");
    ASSERT_TRUE(layout.ok()) << layout.status().ToString();
    Result<oci::Descriptor> amd64 =
        testing::ImportLayout(*layout, source_.get());
    ASSERT_TRUE(amd64.ok()) << amd64.status().ToString();
    amd64_ = *amd64;
    amd64_.platform = llb::Platform{.os = "linux", .architecture = "amd64"};
    Result<oci::Descriptor> arm64 = testing::StoreImage(
        source_.get(), {.os = "linux", .architecture = "arm64"},
        testing::MakeTar({{"bin/arm64-only", "not really an arm64 binary\n"}}),
        std::string(oci::kMediaTypeLayer));
    ASSERT_TRUE(arm64.ok()) << arm64.status().ToString();
    arm64_ = *arm64;
    Result<oci::Descriptor> index =
        testing::StoreIndex(source_.get(), {amd64_, arm64_});
    ASSERT_TRUE(index.ok()) << index.status().ToString();
    index_ = *index;

    RegistryClient pusher(registry_->ClientConfig(), source_.get());
    Status pushed = pusher.Push(Ref("multi/arch:1"), index_);
    ASSERT_TRUE(pushed.ok()) << pushed.ToString() << "\n" << registry_->Log();
  }

  Result<PulledImage> PullFor(const std::string& store_name,
                              const std::string& platform,
                              std::unique_ptr<ContentStore>* store_out) {
    *store_out = OpenStore(store_name);
    RegistryClient client(registry_->ClientConfig(), store_out->get());
    return client.Pull(
        Ref("multi/arch:1"),
        {.platform = llb::ParsePlatform(platform).value_or(llb::Platform{})});
  }

  std::unique_ptr<ContentStore> source_;
  oci::Descriptor amd64_, arm64_, index_;
};

TEST_F(RegistryPlatformTest, ResolvesToTheIndex) {
  RegistryClient client(registry_->ClientConfig(), source_.get());
  Result<oci::Descriptor> d = client.Resolve(Ref("multi/arch:1"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->media_type, oci::kMediaTypeImageIndex);
  EXPECT_EQ(d->digest, index_.digest);
  EXPECT_EQ(d->size, index_.size);
}

TEST_F(RegistryPlatformTest, EachPlatformGetsItsManifestAndOnlyItsBlobs) {
  std::unique_ptr<ContentStore> amd_store;
  Result<PulledImage> amd = PullFor("amd", "linux/amd64", &amd_store);
  ASSERT_TRUE(amd.ok()) << amd.status().ToString();
  EXPECT_EQ(amd->root.digest, index_.digest);
  EXPECT_EQ(amd->root.media_type, oci::kMediaTypeImageIndex);
  EXPECT_EQ(amd->manifest.digest, amd64_.digest);
  EXPECT_EQ(amd->config.architecture, "amd64");
  EXPECT_TRUE(amd_store->Has(index_.digest));
  EXPECT_TRUE(amd_store->Has(amd64_.digest));
  EXPECT_FALSE(amd_store->Has(arm64_.digest));

  std::unique_ptr<ContentStore> arm_store;
  Result<PulledImage> arm = PullFor("arm", "linux/arm64/v8", &arm_store);
  ASSERT_TRUE(arm.ok()) << arm.status().ToString();
  EXPECT_EQ(arm->root.digest, index_.digest);
  EXPECT_EQ(arm->manifest.digest, arm64_.digest);
  EXPECT_EQ(arm->config.architecture, "arm64");
  ASSERT_EQ(arm->parsed_manifest.layers.size(), 1u);
  EXPECT_EQ(arm->parsed_manifest.layers[0].media_type, oci::kMediaTypeLayer);
  EXPECT_FALSE(arm_store->Has(amd64_.digest));
  EXPECT_FALSE(arm_store->Has(amd->parsed_manifest.layers[0].digest));
  Result<std::string> layer =
      arm_store->ReadAll(arm->parsed_manifest.layers[0].digest);
  ASSERT_TRUE(layer.ok());
  EXPECT_NE(layer->find("not really an arm64 binary"), std::string::npos);
}

TEST_F(RegistryPlatformTest, MissingPlatformListsOfferedOnes) {
  std::unique_ptr<ContentStore> store;
  Result<PulledImage> image = PullFor("s390x", "linux/s390x", &store);
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), StatusCode::kNotFound);
  const std::string& m = image.status().message();
  EXPECT_NE(m.find("linux/amd64"), std::string::npos) << m;
  EXPECT_NE(m.find("linux/arm64"), std::string::npos) << m;
  EXPECT_NE(m.find(registry_->host() + "/multi/arch:1"), std::string::npos)
      << m;
}

TEST_F(RegistryPlatformTest, IndexRoundTripsThroughASecondPush) {
  // Pull both platforms into one store, push the index elsewhere, compare.
  std::unique_ptr<ContentStore> store;
  ASSERT_TRUE(PullFor("both", "linux/amd64", &store).ok());
  RegistryClient client(registry_->ClientConfig(), store.get());
  ASSERT_TRUE(client
                  .Pull(Ref("multi/arch:1"),
                        {.platform = {.os = "linux", .architecture = "arm64"}})
                  .ok());
  Status pushed = client.Push(Ref("copy/arch:1"), index_);
  ASSERT_TRUE(pushed.ok()) << pushed.ToString();
  Result<oci::Descriptor> d = client.Resolve(Ref("copy/arch:1"));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->digest, index_.digest);
}

}  // namespace
}  // namespace kiln::solver
