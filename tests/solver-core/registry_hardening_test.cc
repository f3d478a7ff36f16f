// The registry client against misbehaving registries (fakes on
// TestHttpServer): credentials and plain http never follow a registry's
// pointers to other hosts (upload Locations, redirects), failed uploads
// restart instead of retrying half-sent requests, descriptor sizes bound
// downloads, and error messages hold neither presigned URLs nor secrets.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kiln/solver/registry.h"
#include "support/registry_fixture.h"
#include "support/registry_http_server.h"

namespace kiln::solver {
namespace {

using testing::Base64;

using testing::TestHttpRequest;
using testing::TestHttpResponse;
using testing::TestHttpServer;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// A registry in memory that keeps what it is sent: blobs (monolithic or
// chunked uploads that check Content-Range), manifests by tag and digest.
// Optional Basic auth; `fault` may answer a request first; `upload_base`
// is where upload sessions live (another server's URL for cross-host
// Locations). Every request is recorded with its Authorization header.
class FakeRegistry {
 public:
  using Fault =
      std::function<std::optional<TestHttpResponse>(const TestHttpRequest&)>;
  struct Seen {
    std::string method, path, authorization;
  };

  static std::unique_ptr<FakeRegistry> Start(std::string basic_auth = "") {
    auto fake = std::unique_ptr<FakeRegistry>(new FakeRegistry);
    if (!basic_auth.empty())
      fake->authorization_ = "Basic " + Base64(basic_auth);
    auto server = TestHttpServer::Start(
        [f = fake.get()](const TestHttpRequest& r) { return f->Handle(r); });
    EXPECT_TRUE(server.ok()) << server.status().ToString();
    if (!server.ok()) return nullptr;
    fake->server_ = std::move(*server);
    fake->upload_base_ = fake->server_->url();
    return fake;
  }

  std::string host() const { return server_->host(); }
  std::string url() const { return server_->url(); }
  void set_fault(Fault fault) {
    std::lock_guard<std::mutex> lock(mu_);
    fault_ = std::move(fault);
  }
  // The next PATCH not at offset 0 takes half its chunk, then answers 500.
  void FailNextChunkHalfway() {
    std::lock_guard<std::mutex> lock(mu_);
    fail_chunk_ = true;
  }
  // The next PUT with a body to an upload session loses the session and
  // answers 503 (as a registry whose node died mid-request).
  void LoseNextUploadPut() {
    std::lock_guard<std::mutex> lock(mu_);
    lose_put_ = true;
  }
  void set_upload_base(std::string base) {
    std::lock_guard<std::mutex> lock(mu_);
    upload_base_ = std::move(base);
  }
  // Upload sessions live on `peer` (another host), as with a registry that
  // hands uploads to a storage service.
  void set_upload_peer(FakeRegistry* peer) {
    std::lock_guard<std::mutex> lock(mu_);
    upload_base_ = peer->url();
    upload_peer_ = peer;
  }
  void PutBlob(const std::string& bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    blobs_[Digest::FromBytes(bytes).str()] = bytes;
  }
  void PutManifest(const std::string& tag, const std::string& type,
                   const std::string& bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    manifests_[tag] =
        manifests_[Digest::FromBytes(bytes).str()] = {type, bytes};
  }
  std::optional<std::string> Blob(const Digest& d) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = blobs_.find(d.str());
    if (it == blobs_.end()) return std::nullopt;
    return it->second;
  }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> lock(mu_);
    return seen_;
  }
  int Count(const std::string& method) {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const Seen& s : seen_) n += s.method == method;
    return n;
  }

 private:
  FakeRegistry() = default;

  TestHttpResponse Handle(const TestHttpRequest& r) {
    std::lock_guard<std::mutex> lock(mu_);
    const std::string path = r.Path();
    const auto auth = r.headers.find("authorization");
    seen_.push_back(
        {r.method, path, auth == r.headers.end() ? "" : auth->second});
    if (fault_) {
      if (std::optional<TestHttpResponse> answer = fault_(r)) return *answer;
    }
    const bool on_registry = path.rfind("/v2/", 0) == 0;
    if (on_registry && !authorization_.empty() &&
        seen_.back().authorization != authorization_) {
      return {.status = 401,
              .headers = {{"WWW-Authenticate", R"(Basic realm="fake")"}}};
    }
    if (path.rfind("/upload/", 0) == 0) return Upload(r, path.substr(8));
    if (size_t at = path.find("/blobs/uploads/"); at != std::string::npos) {
      const std::string id = std::to_string(++sessions_created_);
      if (upload_peer_ != nullptr) {
        std::lock_guard<std::mutex> peer_lock(upload_peer_->mu_);
        upload_peer_->sessions_[id];
      } else {
        sessions_[id];
      }
      return {.status = 202, .headers = {{"Location", SessionUrl(id)}}};
    }
    if (size_t at = path.find("/blobs/"); at != std::string::npos) {
      auto it = blobs_.find(path.substr(at + 7));
      if (it == blobs_.end()) return {.status = 404};
      return {.status = 200, .body = it->second};
    }
    if (size_t at = path.find("/manifests/"); at != std::string::npos) {
      const std::string reference = path.substr(at + 11);
      if (r.method == "PUT") {
        const std::string digest = Digest::FromBytes(r.body).str();
        manifests_[reference] = manifests_[digest] = {
            r.headers.count("content-type") ? r.headers.at("content-type") : "",
            r.body};
        return {.status = 201, .headers = {{"Docker-Content-Digest", digest}}};
      }
      auto it = manifests_.find(reference);
      if (it == manifests_.end()) return {.status = 404};
      return {.status = 200,
              .headers = {{"Content-Type", it->second.first}},
              .body = it->second.second};
    }
    return {.status = on_registry ? 200 : 404};
  }

  // PATCH appends a chunk that must start where the session ends (else
  // 416); PUT ?digest= appends its body and stores the blob.
  TestHttpResponse Upload(const TestHttpRequest& r, const std::string& id) {
    auto session = sessions_.find(id);
    if (session == sessions_.end()) {
      return {.status = 404,
              .body = R"({"errors":[{"code":"BLOB_UPLOAD_UNKNOWN"}]})"};
    }
    std::string& data = session->second;
    if (r.method == "PATCH") {
      const std::string range =
          r.headers.count("content-range") ? r.headers.at("content-range") : "";
      const size_t offset = std::stoul(range.substr(0, range.find('-')));
      if (offset != data.size()) return {.status = 416};
      if (fail_chunk_ && offset > 0) {
        fail_chunk_ = false;
        data += r.body.substr(0, r.body.size() / 2);
        return {.status = 500};
      }
      data += r.body;
      return {.status = 202, .headers = {{"Location", SessionUrl(id)}}};
    }
    const std::vector<std::string> digest = r.Query("digest");
    const std::string bytes = data + r.body;
    sessions_.erase(session);
    if (lose_put_ && !r.body.empty()) {
      lose_put_ = false;
      return {.status = 503};
    }
    if (digest.size() != 1 || Digest::FromBytes(bytes).str() != digest[0]) {
      return {.status = 400,
              .body = R"({"errors":[{"code":"DIGEST_INVALID"}]})"};
    }
    blobs_[digest[0]] = bytes;
    return {.status = 201, .headers = {{"Docker-Content-Digest", digest[0]}}};
  }

  std::string SessionUrl(const std::string& id) const {
    return upload_base_ + "/upload/" + id +
           "?_state=session-secret&X-Amz-Signature=presigned-secret";
  }

  std::mutex mu_;  // guards everything below
  std::string authorization_;
  std::string upload_base_;
  FakeRegistry* upload_peer_ = nullptr;
  Fault fault_;
  bool fail_chunk_ = false;
  bool lose_put_ = false;
  std::map<std::string, std::string> blobs_;
  std::map<std::string, std::pair<std::string, std::string>> manifests_;
  std::map<std::string, std::string> sessions_;
  int sessions_created_ = 0;
  std::vector<Seen> seen_;
  std::unique_ptr<TestHttpServer> server_;  // last: stops before the rest
};

class RegistryHardeningTest : public testing::RegistryTest {
 protected:
  RegistryHardeningTest()
      : RegistryTest("kiln-registry-hardening-", /*start_registry=*/false) {}

  void SetUp() override {
    RegistryTest::SetUp();
    if (HasFatalFailure()) return;
    store_ = OpenStore("content");
    ASSERT_NE(store_, nullptr);
    std::string noise(20000, '\0');
    for (size_t i = 0; i < noise.size(); ++i)
      noise[i] = static_cast<char>((i * 7919) >> 3);
    layer_ = testing::MakeTar({{"noise", noise}});
    Result<oci::Descriptor> root = testing::StoreImage(
        store_.get(), {.os = "linux", .architecture = "amd64"}, layer_,
        std::string(oci::kMediaTypeLayer));
    ASSERT_TRUE(root.ok()) << root.status().ToString();
    root_ = *root;
  }

  // Plain http to `http_hosts`, quick retries, credentials for `auth_host`
  // (user "alice", password `password`) when set.
  RegistryConfig Config(const std::vector<std::string>& http_hosts,
                        const std::string& auth_host = "",
                        const std::string& password = "") {
    RegistryConfig config;
    for (const std::string& h : http_hosts) config.hosts[h].http = true;
    config.docker_config_path = dir_ + "/docker-config.json";
    if (!auth_host.empty()) {
      testing::WriteFile(config.docker_config_path,
                         R"({"auths":{")" + auth_host +
                             R"(":{"username":"alice","password":")" +
                             password + R"("}}})");
    }
    config.retry_attempts = 3;
    config.retry_initial_backoff = std::chrono::milliseconds(1);
    return config;
  }

  llb::ImageReference Ref(const std::string& host, const std::string& rest) {
    return llb::ParseImageReference(host + "/" + rest)
        .value_or(llb::ImageReference{});
  }

  Digest LayerDigest() const { return Digest::FromBytes(layer_); }

  std::unique_ptr<ContentStore> store_;
  std::string layer_;
  oci::Descriptor root_;
};

TEST_F(RegistryHardeningTest, UploadLocationOnAnotherHostGetsNoCredentials) {
  auto registry = FakeRegistry::Start("alice:pa55word");
  auto storage = FakeRegistry::Start();
  ASSERT_TRUE(registry && storage);
  registry->set_upload_peer(storage.get());
  RegistryClient client(
      Config({registry->host(), storage->host()}, registry->host(), "pa55word"),
      store_.get());
  Status pushed = client.Push(Ref(registry->host(), "hard/app:1"), root_);
  ASSERT_TRUE(pushed.ok()) << pushed.ToString();
  EXPECT_EQ(storage->Blob(LayerDigest()), layer_);
  ASSERT_GT(storage->Count("PUT"), 0);
  for (const FakeRegistry::Seen& s : storage->seen())
    EXPECT_EQ(s.authorization, "") << s.method << " " << s.path;
  EXPECT_GT(registry->Count("POST"), 0);
}

TEST_F(RegistryHardeningTest, PlainHttpLocationNeedsItsHostConfigured) {
  auto registry = FakeRegistry::Start();
  auto storage = FakeRegistry::Start();
  ASSERT_TRUE(registry && storage);
  registry->set_upload_base(storage->url());
  RegistryClient client(Config({registry->host()}), store_.get());
  Status pushed = client.Push(Ref(registry->host(), "hard/app:1"), root_);
  EXPECT_EQ(pushed.code(), StatusCode::kFailedPrecondition)
      << pushed.ToString();
  EXPECT_TRUE(Contains(pushed.message(), "refusing plain http"))
      << pushed.ToString();
  EXPECT_TRUE(Contains(pushed.message(), storage->host() + "/upload/"));
  EXPECT_FALSE(Contains(pushed.message(), "secret")) << pushed.ToString();
  EXPECT_TRUE(storage->seen().empty());
}

TEST_F(RegistryHardeningTest, FailedChunkRestartsTheUploadInANewSession) {
  auto registry = FakeRegistry::Start();
  ASSERT_TRUE(registry);
  // Resending the half-taken chunk could only get 416.
  registry->FailNextChunkHalfway();
  RegistryClient client(Config({registry->host()}), store_.get());
  Status pushed = client.Push(Ref(registry->host(), "hard/app:1"), root_,
                              {.chunk_size = 4096});
  ASSERT_TRUE(pushed.ok()) << pushed.ToString();
  EXPECT_EQ(registry->Blob(LayerDigest()), layer_);
  int layer_heads = 0;
  for (const FakeRegistry::Seen& s : registry->seen())
    layer_heads += s.method == "HEAD" && Contains(s.path, LayerDigest().str());
  EXPECT_EQ(layer_heads, 2);  // a restart begins with HEAD
}

TEST_F(RegistryHardeningTest, LostUploadPutRestartsAndManifestPutIsRetried) {
  auto registry = FakeRegistry::Start();
  ASSERT_TRUE(registry);
  registry->LoseNextUploadPut();
  std::atomic<int> manifest_puts{0};
  registry->set_fault(
      [&](const TestHttpRequest& r) -> std::optional<TestHttpResponse> {
        if (r.method != "PUT" || !Contains(r.Path(), "/manifests/"))
          return std::nullopt;
        if (++manifest_puts == 1) return TestHttpResponse{.status = 503};
        return std::nullopt;
      });
  RegistryClient client(Config({registry->host()}), store_.get());
  Status pushed = client.Push(Ref(registry->host(), "hard/app:1"), root_);
  ASSERT_TRUE(pushed.ok()) << pushed.ToString();
  EXPECT_EQ(registry->Blob(LayerDigest()), layer_);
  EXPECT_EQ(manifest_puts, 2);
  EXPECT_EQ(registry->Count("POST"), 3);  // config, layer, layer again
}

TEST_F(RegistryHardeningTest, UploadsGiveUpAfterRetryAttemptsRestarts) {
  auto registry = FakeRegistry::Start();
  ASSERT_TRUE(registry);
  registry->set_fault(
      [&](const TestHttpRequest& r) -> std::optional<TestHttpResponse> {
        if (r.method == "PUT" && Contains(r.Path(), "/upload/"))
          return TestHttpResponse{.status = 502};
        return std::nullopt;
      });
  RegistryClient client(Config({registry->host()}), store_.get());
  Status pushed = client.Push(Ref(registry->host(), "hard/app:1"), root_);
  EXPECT_EQ(pushed.code(), StatusCode::kUnavailable) << pushed.ToString();
  EXPECT_TRUE(Contains(pushed.message(), "after 3 upload attempts"))
      << pushed.ToString();
  EXPECT_FALSE(Contains(pushed.message(), "secret")) << pushed.ToString();
  // Each blob: 3 sessions, one PUT each (no blind retries).
  EXPECT_EQ(registry->Count("PUT"), registry->Count("POST"));
}

TEST_F(RegistryHardeningTest, ErrorMessagesHoldNoUploadUrlQueries) {
  auto registry = FakeRegistry::Start();
  ASSERT_TRUE(registry);
  registry->set_fault(
      [&](const TestHttpRequest& r) -> std::optional<TestHttpResponse> {
        if (r.method != "PUT" || !Contains(r.Path(), "/upload/"))
          return std::nullopt;
        return TestHttpResponse{
            .status = 400, .body = R"({"errors":[{"code":"DIGEST_INVALID"}]})"};
      });
  RegistryClient client(Config({registry->host()}), store_.get());
  Status pushed = client.Push(Ref(registry->host(), "hard/app:1"), root_);
  EXPECT_EQ(pushed.code(), StatusCode::kInvalidArgument) << pushed.ToString();
  EXPECT_TRUE(Contains(pushed.message(), registry->url() + "/upload/"))
      << pushed.ToString();
  EXPECT_FALSE(Contains(pushed.message(), "secret")) << pushed.ToString();

  // A transport error (curl's message) at an upload host is redacted too.
  const std::string gone = "127.0.0.1:" + std::to_string(testing::FreePort());
  registry->set_fault(nullptr);
  registry->set_upload_base("http://" + gone);
  RegistryClient client2(Config({registry->host(), gone}), store_.get());
  pushed = client2.Push(Ref(registry->host(), "hard/app:2"), root_);
  EXPECT_EQ(pushed.code(), StatusCode::kUnavailable) << pushed.ToString();
  EXPECT_TRUE(Contains(pushed.message(), gone + "/upload/"))
      << pushed.ToString();
  EXPECT_FALSE(Contains(pushed.message(), "secret")) << pushed.ToString();
}

TEST_F(RegistryHardeningTest, BlobRedirectToStorageCarriesNoCredentials) {
  auto registry = FakeRegistry::Start("alice:pa55word");
  auto storage = FakeRegistry::Start();
  ASSERT_TRUE(registry && storage);
  const RegistryConfig config =
      Config({registry->host(), storage->host()}, registry->host(), "pa55word");
  Status pushed = RegistryClient(config, store_.get())
                      .Push(Ref(registry->host(), "hard/app:1"), root_);
  ASSERT_TRUE(pushed.ok()) << pushed.ToString();
  // Object storage: presigned URLs, and (like S3) a 400 for a request that
  // also carries an Authorization header.
  storage->PutBlob(layer_);
  const std::string blob_path = "/blobs/" + LayerDigest().str();
  registry->set_fault(
      [&](const TestHttpRequest& r) -> std::optional<TestHttpResponse> {
        if (r.method != "GET" || !Contains(r.Path(), blob_path))
          return std::nullopt;
        return TestHttpResponse{
            .status = 307,
            .headers = {{"Location", storage->url() + "/v2/s3" + blob_path +
                                         "?X-Amz-Signature=presigned-secret"}}};
      });
  storage->set_fault(
      [](const TestHttpRequest& r) -> std::optional<TestHttpResponse> {
        if (r.headers.count("authorization") == 0) return std::nullopt;
        return TestHttpResponse{.status = 400};
      });
  auto target = OpenStore("target");
  ASSERT_NE(target, nullptr);
  Result<PulledImage> pulled = RegistryClient(config, target.get())
                                   .Pull(Ref(registry->host(), "hard/app:1"));
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_TRUE(target->Has(LayerDigest()));
  ASSERT_EQ(storage->Count("GET"), 1);
  EXPECT_EQ(storage->seen().at(0).authorization, "");
}

// openssl s_server -HTTP plays an https registry: it answers GET /path with
// the bytes of the file ./path, which hold a whole HTTP response.
TEST_F(RegistryHardeningTest, HttpsRegistryCannotRedirectToPlainHttp) {
  if (!testing::HaveProgram("openssl"))
    GTEST_SKIP() << "openssl is not installed";
  auto storage = FakeRegistry::Start();
  ASSERT_TRUE(storage);
  const std::string tls = dir_ + "/tls";
  testing::WriteFile(tls + "/v2/hard/app/manifests/1",
                     "HTTP/1.1 302 Found\r\nLocation: " + storage->url() +
                         "/v2/hard/app/manifests/1?X-Amz-Signature=secret\r\n"
                         "Content-Length: 0\r\nConnection: close\r\n\r\n");
  testing::CommandResult cert = testing::RunCommand(
      {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
       tls + "/key.pem", "-out", tls + "/cert.pem", "-days", "1", "-subj",
       "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"});
  ASSERT_EQ(cert.exit_code, 0) << cert.output;
  const int port = testing::FreePort();
  const std::string accept = "127.0.0.1:" + std::to_string(port);
  const pid_t server = testing::ForkChild([&] {
    if (chdir(tls.c_str()) != 0) return 126;
    freopen("/dev/null", "w", stdout);
    freopen("/dev/null", "w", stderr);
    execlp("openssl", "openssl", "s_server", "-HTTP", "-quiet", "-accept",
           accept.c_str(), "-cert", "cert.pem", "-key", "key.pem",
           static_cast<char*>(nullptr));
    return 127;
  });
  ASSERT_GT(server, 0);
  RegistryConfig config = Config({storage->host()});
  config.hosts[accept].ca_files = {tls + "/cert.pem"};
  Result<PulledImage> pulled = UnknownError("not tried");
  for (int i = 0; i < 100; ++i) {  // until s_server listens
    pulled =
        RegistryClient(config, store_.get()).Pull(Ref(accept, "hard/app:1"));
    if (pulled.status().code() != StatusCode::kUnavailable) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(server, SIGKILL);
  testing::WaitExitCode(server);
  EXPECT_EQ(pulled.status().code(), StatusCode::kFailedPrecondition)
      << pulled.status().ToString();
  EXPECT_TRUE(Contains(pulled.status().message(),
                       "refusing redirect from https to plain http"))
      << pulled.status().ToString();
  EXPECT_FALSE(Contains(pulled.status().message(), "secret"));
  EXPECT_TRUE(storage->seen().empty());
}

TEST_F(RegistryHardeningTest, IndexEntryWithoutMediaTypeIsSniffed) {
  auto registry = FakeRegistry::Start();
  ASSERT_TRUE(registry);
  const RegistryConfig config = Config({registry->host()});
  Status pushed = RegistryClient(config, store_.get())
                      .Push(Ref(registry->host(), "hard/app:1"), root_);
  ASSERT_TRUE(pushed.ok()) << pushed.ToString();
  auto index_of = [](const oci::Descriptor& d) {
    return std::string(R"({"schemaVersion":2,"mediaType":")") +
           std::string(oci::kMediaTypeImageIndex) +
           R"(","manifests":[{"digest":")" + d.digest.str() + R"(","size":)" +
           std::to_string(d.size) +
           R"(,"platform":{"architecture":"amd64","os":"linux"}}]})";
  };
  const std::string index = index_of(root_);
  const std::string nested =
      index_of({.digest = Digest::FromBytes(index),
                .size = static_cast<int64_t>(index.size())});
  const std::string type(oci::kMediaTypeImageIndex);
  registry->PutManifest("index", type, index);
  registry->PutManifest("nested", type, nested);
  auto target = OpenStore("target");
  ASSERT_NE(target, nullptr);
  RegistryClient client(config, target.get());
  const llb::Platform amd64{.os = "linux", .architecture = "amd64"};
  Result<PulledImage> pulled =
      client.Pull(Ref(registry->host(), "hard/app:index"), {.platform = amd64});
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(pulled->manifest.digest, root_.digest);
  EXPECT_EQ(pulled->manifest.media_type, oci::kMediaTypeImageManifest);
  EXPECT_TRUE(target->Has(LayerDigest()));

  pulled = client.Pull(Ref(registry->host(), "hard/app:nested"),
                       {.platform = amd64});
  EXPECT_EQ(pulled.status().code(), StatusCode::kUnimplemented);
  EXPECT_TRUE(Contains(pulled.status().message(),
                       "is a \"" + type + "\" (by its content)"))
      << pulled.status().ToString();
}

TEST_F(RegistryHardeningTest, DescriptorSizesBoundDownloads) {
  auto registry = FakeRegistry::Start();
  ASSERT_TRUE(registry);
  Result<std::string> manifest_bytes = store_->ReadAll(root_.digest);
  ASSERT_TRUE(manifest_bytes.ok());
  Result<oci::Manifest> manifest = oci::ParseManifest(*manifest_bytes);
  ASSERT_TRUE(manifest.ok());
  Result<std::string> config_bytes = store_->ReadAll(manifest->config.digest);
  ASSERT_TRUE(config_bytes.ok());
  registry->PutBlob(*config_bytes);
  registry->PutBlob(layer_);
  // Size 0 is a size (of an empty blob), not "unknown".
  manifest->layers[0].size = 0;
  const std::string type(oci::kMediaTypeImageManifest);
  registry->PutManifest("zero", type, oci::ToJson(*manifest));
  // By tag nothing tells a manifest's size: 4 MiB is the most accepted.
  manifest->layers[0].size = static_cast<int64_t>(layer_.size());
  manifest->annotations["pad"] = std::string(5 << 20, 'x');
  registry->PutManifest("huge", type, oci::ToJson(*manifest));

  auto target = OpenStore("target");
  ASSERT_NE(target, nullptr);
  RegistryClient client(Config({registry->host()}), target.get());
  Result<PulledImage> pulled =
      client.Pull(Ref(registry->host(), "hard/app:zero"));
  EXPECT_EQ(pulled.status().code(), StatusCode::kDataLoss)
      << pulled.status().ToString();
  EXPECT_TRUE(Contains(pulled.status().message(), LayerDigest().str()))
      << pulled.status().ToString();
  EXPECT_FALSE(target->Has(LayerDigest()));

  Result<oci::Descriptor> resolved =
      client.Resolve(Ref(registry->host(), "hard/app:huge"));
  EXPECT_EQ(resolved.status().code(), StatusCode::kResourceExhausted)
      << resolved.status().ToString();
}

TEST_F(RegistryHardeningTest, ErrorsNeverShowPasswordsOrTokens) {
  const std::string password = "wr0ng-Pa55word-XYZ";
  auto registry = FakeRegistry::Start("alice:right-password");
  ASSERT_TRUE(registry);
  const llb::ImageReference ref = Ref(registry->host(), "hard/app:1");
  auto expect_clean = [&](const Status& s, StatusCode code) {
    EXPECT_EQ(s.code(), code) << s.ToString();
    EXPECT_FALSE(Contains(s.ToString(), password)) << s.ToString();
    EXPECT_FALSE(Contains(s.ToString(), Base64("alice:" + password)));
  };
  RegistryConfig config =
      Config({registry->host()}, registry->host(), password);
  Result<PulledImage> pulled = RegistryClient(config, store_.get()).Pull(ref);
  expect_clean(pulled.status(), StatusCode::kUnauthenticated);
  EXPECT_TRUE(Contains(pulled.status().message(), "alice"));

  // A docker config that is not JSON (a raw newline in the password).
  testing::WriteFile(config.docker_config_path,
                     R"({"auths":{")" + registry->host() +
                         R"(":{"username":"alice","password":")" + password +
                         "\n\"}}}");
  pulled = RegistryClient(config, store_.get()).Pull(ref);
  expect_clean(pulled.status(), StatusCode::kInvalidArgument);

  // A token server whose answer is not JSON (a control character in it).
  const std::string token = "tok-SECRET-123";
  auto tokens = FakeRegistry::Start();
  ASSERT_TRUE(tokens);
  tokens->set_fault([&](const TestHttpRequest&) {
    return TestHttpResponse{.status = 200,
                            .body = R"({"token":")" + token + "\x01\"}"};
  });
  registry->set_fault([&](const TestHttpRequest&) {
    return TestHttpResponse{
        .status = 401,
        .headers = {{"WWW-Authenticate", R"(Bearer realm=")" + tokens->url() +
                                             R"(/token",service="fake")"}}};
  });
  config =
      Config({registry->host(), tokens->host()}, registry->host(), password);
  pulled = RegistryClient(config, store_.get()).Pull(ref);
  expect_clean(pulled.status(), StatusCode::kUnauthenticated);
  EXPECT_FALSE(Contains(pulled.status().ToString(), token))
      << pulled.status().ToString();
  EXPECT_GT(tokens->Count("GET"), 0);
}

}  // namespace
}  // namespace kiln::solver
