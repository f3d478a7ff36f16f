// Push and pull against a real docker-registry: round trips by tag and by
// digest, Docker media types, chunked uploads, skipping, cross-repo mounts.
#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "kiln/solver/registry.h"
#include "support/registry_fixture.h"

namespace kiln::solver {
namespace {

using testing::StoreImage;

class RegistryPushPullTest : public testing::RegistryTest {
 protected:
  RegistryPushPullTest() : RegistryTest("kiln-registry-test-") {}

  // Every blob of `from` is in `to` with identical bytes.
  void ExpectSameBlobs(ContentStore& from, ContentStore& to) {
    Result<std::vector<BlobInfo>> blobs = from.List();
    ASSERT_TRUE(blobs.ok());
    for (const BlobInfo& b : *blobs) {
      Result<std::string> a = from.ReadAll(b.digest);
      Result<std::string> c = to.ReadAll(b.digest);
      ASSERT_TRUE(c.ok()) << b.digest.str() << ": " << c.status().ToString();
      EXPECT_EQ(*a, *c) << b.digest.str();
      EXPECT_EQ(Digest::FromBytes(*c), b.digest);
    }
  }
};

TEST_F(RegistryPushPullTest, PushedImagePullsBackByTagAndDigest) {
  auto source = OpenStore("source");
  Result<std::string> layout = testing::MakeBusyboxLayout(dir_, "1.0");
  ASSERT_TRUE(layout.ok()) << layout.status().ToString();
  Result<oci::Descriptor> root = testing::ImportLayout(*layout, source.get());
  ASSERT_TRUE(root.ok()) << root.status().ToString();

  RegistryClient pusher(registry_->ClientConfig(), source.get());
  std::vector<BlobProgress> pushed;
  Status push = pusher.Push(
      Ref("kiln/busybox:1.0"), *root,
      {.progress = [&](const PushProgress& p) { pushed.push_back(p); }});
  ASSERT_TRUE(push.ok()) << push.ToString() << "\n" << registry_->Log();
  int completed = 0;
  for (const BlobProgress& p : pushed)
    completed += p.complete && !p.cached ? 1 : 0;
  EXPECT_EQ(completed, 2);  // config + layer uploaded

  Result<oci::Descriptor> resolved = pusher.Resolve(Ref("kiln/busybox:1.0"));
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->digest, root->digest);
  EXPECT_EQ(resolved->size, root->size);
  EXPECT_EQ(resolved->media_type, oci::kMediaTypeImageManifest);

  auto by_tag = OpenStore("by-tag");
  RegistryClient puller(registry_->ClientConfig(), by_tag.get());
  std::set<std::string> layers_done;
  Result<PulledImage> image =
      puller.Pull(Ref("kiln/busybox:1.0"),
                  {.platform = {.os = "linux", .architecture = "amd64"},
                   .progress = [&](const PullProgress& p) {
                     if (p.complete) layers_done.insert(p.digest.str());
                   }});
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->root.digest, root->digest);
  EXPECT_EQ(image->manifest.digest, root->digest);
  EXPECT_EQ(image->config.architecture, "amd64");
  EXPECT_EQ(Digest::FromBytes(image->config_bytes),
            image->parsed_manifest.config.digest);
  ASSERT_EQ(image->parsed_manifest.layers.size(), 1u);
  EXPECT_TRUE(layers_done.count(image->parsed_manifest.layers[0].digest.str()));
  ExpectSameBlobs(*source, *by_tag);
  ExpectSameBlobs(*by_tag, *source);

  auto by_digest = OpenStore("by-digest");
  RegistryClient digest_puller(registry_->ClientConfig(), by_digest.get());
  llb::ImageReference pinned = Ref("kiln/busybox");
  pinned.tag.clear();
  pinned.digest = root->digest.str();
  Result<PulledImage> again = digest_puller.Pull(pinned);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->root.digest, root->digest);
  ExpectSameBlobs(*source, *by_digest);

  // A second pull finds everything present and transfers nothing.
  std::vector<BlobProgress> second;
  Result<PulledImage> cached = digest_puller.Pull(
      pinned,
      {.progress = [&](const PullProgress& p) { second.push_back(p); }});
  ASSERT_TRUE(cached.ok()) << cached.status().ToString();
  ASSERT_EQ(second.size(), 2u);
  for (const BlobProgress& p : second) EXPECT_TRUE(p.cached && p.complete);
}

TEST_F(RegistryPushPullTest, DockerMediaTypesAndChunkedUploadRoundTrip) {
  auto source = OpenStore("source");
  std::string layer_bytes;
  for (int i = 0; i < 5000; ++i) layer_bytes += std::to_string(i * 7919) + ",";
  const std::string layer = testing::MakeTar({{"data.txt", layer_bytes}});
  Result<oci::Descriptor> root =
      StoreImage(source.get(), {.os = "linux", .architecture = "amd64"}, layer,
                 std::string(oci::kMediaTypeDockerLayerGzip) /* stored as-is */,
                 /*docker=*/true);
  ASSERT_TRUE(root.ok()) << root.status().ToString();

  RegistryClient client(registry_->ClientConfig(), source.get());
  Status push =
      client.Push(Ref("docker/types:v2"), *root, {.chunk_size = 4096});
  ASSERT_TRUE(push.ok()) << push.ToString() << "\n" << registry_->Log();

  Result<oci::Descriptor> resolved = client.Resolve(Ref("docker/types:v2"));
  ASSERT_TRUE(resolved.ok()) << resolved.status().ToString();
  EXPECT_EQ(resolved->media_type, oci::kMediaTypeDockerManifest);
  EXPECT_EQ(resolved->digest, root->digest);

  auto target = OpenStore("target");
  RegistryClient puller(registry_->ClientConfig(), target.get());
  Result<PulledImage> image = puller.Pull(Ref("docker/types:v2"));
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->root.media_type, oci::kMediaTypeDockerManifest);
  EXPECT_EQ(image->parsed_manifest.config.media_type,
            oci::kMediaTypeDockerConfig);
  ASSERT_EQ(image->parsed_manifest.layers.size(), 1u);
  Result<std::string> stored =
      target->ReadAll(image->parsed_manifest.layers[0].digest);
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, layer);  // stored exactly as served, never recompressed
  ExpectSameBlobs(*source, *target);
}

TEST_F(RegistryPushPullTest, SecondRepositoryMountsBlobsAndSkipsExisting) {
  auto source = OpenStore("source");
  Result<oci::Descriptor> root = StoreImage(
      source.get(), {.os = "linux", .architecture = "amd64"},
      testing::MakeTar({{"a", "mount me"}}), std::string(oci::kMediaTypeLayer));
  ASSERT_TRUE(root.ok());
  RegistryClient client(registry_->ClientConfig(), source.get());
  ASSERT_TRUE(client.Push(Ref("first/repo:1"), *root).ok());

  std::vector<BlobProgress> progress;
  auto record = [&](const PushProgress& p) {
    if (p.complete) progress.push_back(p);
  };
  Status again = client.Push(Ref("first/repo:2"), *root, {.progress = record});
  ASSERT_TRUE(again.ok()) << again.ToString();
  ASSERT_EQ(progress.size(), 2u);
  for (const BlobProgress& p : progress)
    EXPECT_TRUE(p.cached) << p.digest.str();

  progress.clear();
  Status mounted =
      client.Push(Ref("second/repo:1"), *root, {.progress = record});
  ASSERT_TRUE(mounted.ok()) << mounted.ToString();
  ASSERT_EQ(progress.size(), 2u);
  for (const BlobProgress& p : progress)
    EXPECT_TRUE(p.mounted) << p.digest.str();

  auto target = OpenStore("target");
  RegistryClient puller(registry_->ClientConfig(), target.get());
  Result<PulledImage> image = puller.Pull(Ref("second/repo:1"));
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  ExpectSameBlobs(*source, *target);
}

TEST_F(RegistryPushPullTest, ConcurrentPullsShareOneClientAndStore) {
  auto source = OpenStore("source");
  std::vector<oci::Descriptor> roots;
  for (int i = 0; i < 3; ++i) {
    Result<oci::Descriptor> root = StoreImage(
        source.get(), {.os = "linux", .architecture = "amd64"},
        testing::MakeTar(
            {{"file", std::string(100000 + i, static_cast<char>('a' + i))}}),
        std::string(oci::kMediaTypeLayer));
    ASSERT_TRUE(root.ok());
    roots.push_back(*root);
  }
  RegistryClient pusher(registry_->ClientConfig(), source.get());
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(
        pusher.Push(Ref("many/img:" + std::to_string(i)), roots[i]).ok());
  }
  auto target = OpenStore("target");
  RegistryClient client(registry_->ClientConfig(), target.get());
  std::vector<Status> results(6);
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      results[t] =
          client.Pull(Ref("many/img:" + std::to_string(t % 3))).status();
    });
  }
  for (std::thread& t : threads) t.join();
  for (const Status& s : results) EXPECT_TRUE(s.ok()) << s.ToString();
  ExpectSameBlobs(*source, *target);
  ExpectSameBlobs(*target, *source);
}

TEST_F(RegistryPushPullTest, MissingReferencesAreNotFoundAndNamed) {
  auto store = OpenStore("store");
  RegistryClient client(registry_->ClientConfig(), store.get());
  Result<oci::Descriptor> resolved = client.Resolve(Ref("nothing/here:v1"));
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.status().code(), StatusCode::kNotFound);
  EXPECT_NE(
      resolved.status().message().find(registry_->host() + "/nothing/here:v1"),
      std::string::npos)
      << resolved.status().message();
  EXPECT_NE(resolved.status().message().find("http 404"), std::string::npos);

  Result<PulledImage> pulled = client.Pull(Ref("nothing/here:v1"));
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.status().code(), StatusCode::kNotFound);
  EXPECT_NE(pulled.status().message().find("MANIFEST_UNKNOWN"),
            std::string::npos)
      << pulled.status().message();
}

TEST_F(RegistryPushPullTest, PlainHttpOnlyForConfiguredHosts) {
  auto store = OpenStore("store");
  RegistryConfig config;  // 127.0.0.1 is not implicitly insecure
  config.retry_attempts = 1;
  RegistryClient client(config, store.get());
  Result<oci::Descriptor> resolved = client.Resolve(Ref("any/thing:1"));
  ASSERT_FALSE(resolved.ok());
  EXPECT_EQ(resolved.status().code(), StatusCode::kFailedPrecondition)
      << resolved.status().ToString();
  EXPECT_NE(resolved.status().message().find("https://" + registry_->host()),
            std::string::npos)
      << resolved.status().message();
  EXPECT_NE(resolved.status().message().find("http = true"), std::string::npos);
}

TEST_F(RegistryPushPullTest, PushNeedsTheImageInTheStore) {
  auto store = OpenStore("store");
  RegistryClient client(registry_->ClientConfig(), store.get());
  const oci::Descriptor absent{
      .media_type = std::string(oci::kMediaTypeImageManifest),
      .digest = Digest::FromBytes("absent"),
      .size = 6};
  Status s = client.Push(Ref("x/y:1"), absent);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_NE(s.message().find(absent.digest.str()), std::string::npos)
      << s.message();
}

}  // namespace
}  // namespace kiln::solver
