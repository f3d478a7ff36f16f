// Faults while pulling: a registry serving corrupt blob bytes (DataLoss,
// nothing stored) and a pulling process dying mid-layer (the store stays
// consistent and a second pull completes).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>

#include "kiln/solver/registry.h"
#include "support/registry_fixture.h"

namespace kiln::solver {
namespace {

namespace fs = std::filesystem;

class RegistryFaultTest : public testing::RegistryTest {
 protected:
  RegistryFaultTest() : RegistryTest("kiln-registry-fault-") {}

  void SetUp() override {
    RegistryTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    std::unique_ptr<ContentStore> source = OpenStore("source");
    ASSERT_NE(source, nullptr);
    // A 3 MiB layer of incompressible bytes, so a pull writes it in many
    // pieces.
    std::mt19937_64 rng(42);
    std::string noise(3 << 20, '\0');
    for (char& c : noise) c = static_cast<char>(rng());
    Result<oci::Descriptor> root = testing::StoreImage(
        source.get(), {.os = "linux", .architecture = "amd64"},
        testing::MakeTar({{"noise.bin", noise}}),
        std::string(oci::kMediaTypeLayer));
    ASSERT_TRUE(root.ok());
    Result<std::string> manifest = source->ReadAll(root->digest);
    ASSERT_TRUE(manifest.ok());
    layer_ = oci::ParseManifest(*manifest)->layers.at(0).digest;
    RegistryClient pusher(registry_->ClientConfig(), source.get());
    Status pushed = pusher.Push(Ref(), *root);
    ASSERT_TRUE(pushed.ok()) << pushed.ToString();
  }

  llb::ImageReference Ref() { return RegistryTest::Ref("fault/image:1"); }

  // Every committed blob re-hashes to its name; no ingest file is left.
  void ExpectConsistent(ContentStore& store) {
    Result<std::vector<BlobInfo>> blobs = store.List();
    ASSERT_TRUE(blobs.ok()) << blobs.status().ToString();
    for (const BlobInfo& b : *blobs) {
      Result<std::string> bytes = store.ReadAll(b.digest);
      ASSERT_TRUE(bytes.ok());
      EXPECT_EQ(Digest::FromBytes(*bytes), b.digest);
      EXPECT_EQ(static_cast<int64_t>(bytes->size()), b.size);
    }
    if (fs::exists(store.dir() + "/ingest")) {
      EXPECT_TRUE(fs::is_empty(store.dir() + "/ingest"));
    }
  }

  Digest layer_;
};

TEST_F(RegistryFaultTest, CorruptBlobIsDataLossAndNotStored) {
  const std::string data = registry_->BlobDataPath(layer_);
  ASSERT_TRUE(fs::exists(data)) << data;
  {
    std::fstream f(data, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(1000);
    char c = 0;
    f.read(&c, 1);
    c = static_cast<char>(c ^ 0x5a);
    f.seekp(1000);
    f.write(&c, 1);
  }
  auto store = ContentStore::Open(dir_ + "/target");
  ASSERT_TRUE(store.ok());
  RegistryConfig config = registry_->ClientConfig();
  RegistryClient client(config, store->get());
  Result<PulledImage> image = client.Pull(Ref());
  ASSERT_FALSE(image.ok());
  EXPECT_EQ(image.status().code(), StatusCode::kDataLoss)
      << image.status().ToString();
  const std::string& m = image.status().message();
  EXPECT_NE(m.find(layer_.str()), std::string::npos) << m;
  EXPECT_NE(m.find("registry " + registry_->host()), std::string::npos) << m;
  EXPECT_FALSE((*store)->Has(layer_));
  ExpectConsistent(**store);
}

TEST_F(RegistryFaultTest, CrashMidLayerLeavesAConsistentStoreAndPullResumes) {
  const std::string content = dir_ + "/content";
  const RegistryConfig config = registry_->ClientConfig();
  const Digest layer = layer_;
  const llb::ImageReference ref = Ref();
  const pid_t pid = testing::ForkChild([&] {
    auto store = ContentStore::Open(content);
    if (!store.ok()) return 2;
    (*store)->set_write_fault_hook(
        [&](const Digest& expected, int64_t written) {
          if (expected == layer && written >= (1 << 20))
            _exit(9);  // dies mid-layer
          return true;
        });
    RegistryClient client(config, store->get());
    Result<PulledImage> image = client.Pull(ref);
    return image.ok() ? 0 : 3;  // never reached with a working hook
  });
  ASSERT_GE(pid, 0);
  ASSERT_EQ(testing::WaitExitCode(pid), 9);

  auto store = ContentStore::Open(content);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_FALSE((*store)->Has(layer_));
  ExpectConsistent(**store);

  RegistryClient client(config, store->get());
  Result<PulledImage> image = client.Pull(Ref());
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_TRUE((*store)->Has(layer_));
  ExpectConsistent(**store);
}

}  // namespace
}  // namespace kiln::solver
