// Retries (5xx/429 retried with backoff, other 4xx never) and pull mirrors
// (tried first, in order; the origin last), against fake and real registries.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "kiln/solver/registry.h"
#include "support/registry_fixture.h"
#include "support/registry_http_server.h"

namespace kiln::solver {
namespace {

using testing::TestHttpRequest;
using testing::TestHttpResponse;
using testing::TestHttpServer;

constexpr char kManifest[] =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
    R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json",)"
    R"("digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",)"
    R"("size":2},"layers":[]})";

// Fake registries (TestHttpServer) only: the mirror tests below start a real
// one.
class RegistryRetryTest : public testing::RegistryTest {
 protected:
  RegistryRetryTest()
      : RegistryTest("kiln-registry-retry-", /*start_registry=*/false) {}

  void SetUp() override {
    RegistryTest::SetUp();
    if (HasFatalFailure()) return;
    store_ = OpenStore("content");
    ASSERT_NE(store_, nullptr);
  }

  RegistryConfig ConfigFor(const std::string& host) {
    RegistryConfig config;
    config.hosts[host].http = true;
    config.docker_config_path = dir_ + "/no-docker-config.json";
    config.retry_attempts = 4;
    config.retry_initial_backoff = std::chrono::milliseconds(10);
    return config;
  }

  llb::ImageReference Ref(const std::string& host, const std::string& rest) {
    return llb::ParseImageReference(host + "/" + rest)
        .value_or(llb::ImageReference{});
  }

  std::unique_ptr<ContentStore> store_;
};

TEST_F(RegistryRetryTest, ServerErrorsAreRetriedUntilSuccess) {
  std::atomic<int> calls{0};
  auto server =
      TestHttpServer::Start([&](const TestHttpRequest&) -> TestHttpResponse {
        const int n = ++calls;
        if (n == 1) return {.status = 503, .headers = {{"Retry-After", "0"}}};
        if (n == 2) return {.status = 429};
        return {.status = 200,
                .headers = {{"Content-Type",
                             "application/vnd.oci.image.manifest.v1+json"}},
                .body = kManifest};
      });
  ASSERT_TRUE(server.ok());
  RegistryClient client(ConfigFor((*server)->host()), store_.get());
  Result<oci::Descriptor> d =
      client.Resolve(Ref((*server)->host(), "flaky/image:1"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->digest,
            Digest::FromBytes(kManifest));  // HEAD had no digest: GET
  EXPECT_EQ(d->size, static_cast<int64_t>(sizeof(kManifest) - 1));
  EXPECT_EQ(calls, 4);  // 503, 429, HEAD 200 without digest, GET
}

TEST_F(RegistryRetryTest, ClientErrorsAreNotRetried) {
  std::atomic<int> calls{0};
  auto server = TestHttpServer::Start([&](const TestHttpRequest&)
                                          -> TestHttpResponse {
    ++calls;
    return {
        .status = 400,
        .body =
            R"({"errors":[{"code":"NAME_INVALID","message":"invalid repository name"}]})"};
  });
  ASSERT_TRUE(server.ok());
  RegistryClient client(ConfigFor((*server)->host()), store_.get());
  Result<PulledImage> pulled =
      client.Pull(Ref((*server)->host(), "bad/name:1"));
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(calls, 1);
  const std::string& m = pulled.status().message();
  EXPECT_NE(m.find("http 400 NAME_INVALID: invalid repository name"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find((*server)->host() + "/bad/name:1"), std::string::npos) << m;
}

TEST_F(RegistryRetryTest, PersistentFailureReportsAttemptsAndStatus) {
  std::atomic<int> calls{0};
  auto server =
      TestHttpServer::Start([&](const TestHttpRequest&) -> TestHttpResponse {
        ++calls;
        return {.status = 502};
      });
  ASSERT_TRUE(server.ok());
  RegistryClient client(ConfigFor((*server)->host()), store_.get());
  Result<oci::Descriptor> d =
      client.Resolve(Ref((*server)->host(), "down/image:1"));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(d.status().message().find("http 502"), std::string::npos)
      << d.status().message();
  EXPECT_EQ(calls, 8);  // HEAD 4 times, then GET 4 times
}

TEST_F(RegistryRetryTest, ConnectionRefusedIsRetriedAndNamed) {
  const std::string host = "127.0.0.1:" + std::to_string(testing::FreePort());
  RegistryConfig config = ConfigFor(host);
  config.retry_attempts = 3;
  RegistryClient client(config, store_.get());
  const auto start = std::chrono::steady_clock::now();
  Result<oci::Descriptor> d = client.Resolve(Ref(host, "gone/image:1"));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kUnavailable);
  const std::string& m = d.status().message();
  EXPECT_NE(m.find("http://" + host + "/v2/gone/image/manifests/1"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("curl"), std::string::npos) << m;
  EXPECT_NE(m.find("after 3 attempts"), std::string::npos) << m;
  // Two backoffs of 10 ms and 20 ms, jittered down by at most half.
  EXPECT_GE(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(15));
}

class RegistryMirrorTest : public RegistryRetryTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(RegistryRetryTest::SetUp());
    ASSERT_NO_FATAL_FAILURE(StartRegistry());
    if (IsSkipped()) return;
    // An image in the real registry under "hub/…", for the mirror tests.
    Result<oci::Descriptor> root = testing::StoreImage(
        store_.get(), {.os = "linux", .architecture = "amd64"},
        testing::MakeTar({{"m", "mirrored"}}),
        std::string(oci::kMediaTypeLayer));
    ASSERT_TRUE(root.ok());
    root_ = *root;
    RegistryClient pusher(registry_->ClientConfig(), store_.get());
    Status pushed =
        pusher.Push(Ref(registry_->host(), "hub/library/app:1"), root_);
    ASSERT_TRUE(pushed.ok()) << pushed.ToString();
    pushed = pusher.Push(Ref(registry_->host(), "library/app:1"), root_);
    ASSERT_TRUE(pushed.ok()) << pushed.ToString();
  }

  oci::Descriptor root_;
};

TEST_F(RegistryMirrorTest, MirrorWithPathPrefixServesAnUnreachableOrigin) {
  const std::string origin = "127.0.0.1:" + std::to_string(testing::FreePort());
  RegistryConfig config = ConfigFor(registry_->host());
  config.hosts[origin].mirrors = {registry_->host() + "/hub"};
  config.retry_attempts = 1;
  auto target = OpenStore("target");
  RegistryClient client(config, target.get());
  Result<PulledImage> image = client.Pull(Ref(origin, "library/app:1"));
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->root.digest, root_.digest);
  EXPECT_TRUE(target->Has(image->parsed_manifest.layers[0].digest));
  // Pushes never go to mirrors: the origin is down.
  Status push = client.Push(Ref(origin, "library/app:2"), root_);
  EXPECT_EQ(push.code(), StatusCode::kUnavailable) << push.ToString();
}

TEST_F(RegistryMirrorTest, DockerHubImagesComeFromTheirMirror) {
  RegistryConfig config = ConfigFor(registry_->host());
  config.hosts["docker.io"].mirrors = {registry_->host() + "/hub"};
  auto target = OpenStore("target");
  RegistryClient client(config, target.get());
  Result<llb::ImageReference> ref =
      llb::ParseImageReference("app:1");  // docker.io/library/app
  ASSERT_TRUE(ref.ok());
  Result<PulledImage> image = client.Pull(*ref);
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->root.digest, root_.digest);
}

TEST_F(RegistryMirrorTest, FailingMirrorFallsBackToOrigin) {
  std::atomic<int> mirror_calls{0};
  auto mirror =
      TestHttpServer::Start([&](const TestHttpRequest&) -> TestHttpResponse {
        ++mirror_calls;
        return {.status = 404};
      });
  ASSERT_TRUE(mirror.ok());
  RegistryConfig config = ConfigFor(registry_->host());
  config.hosts[(*mirror)->host()].http = true;
  config.hosts[registry_->host()].mirrors = {(*mirror)->host()};
  auto target = OpenStore("target");
  RegistryClient client(config, target.get());
  Result<PulledImage> image =
      client.Pull(Ref(registry_->host(), "library/app:1"));
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->root.digest, root_.digest);
  EXPECT_GE(mirror_calls, 1);

  // When everything fails, the origin's error comes first and the mirror's
  // is mentioned.
  Result<PulledImage> missing =
      client.Pull(Ref(registry_->host(), "library/absent:1"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("mirrors tried first: " +
                                            (*mirror)->host()),
            std::string::npos)
      << missing.status().message();
}

}  // namespace
}  // namespace kiln::solver
