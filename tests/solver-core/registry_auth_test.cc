// Authentication against docker-registry: bearer tokens from a test token
// server (the registry's `auth: token`), Basic auth (`auth: htpasswd`),
// credentials from a docker config file, and the errors for wrong or missing
// credentials.
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <memory>
#include <string>

#include "kiln/solver/registry.h"
#include "support/registry_fixture.h"
#include "support/registry_token_server.h"
#include "support/test_util.h"

namespace kiln::solver {
namespace {

using testing::Base64;

using testing::TestRegistry;
using testing::TestTokenServer;

class RegistryAuthTest : public testing::RegistryTest {
 protected:
  // Each test starts the registry with its own auth configuration.
  RegistryAuthTest()
      : RegistryTest("kiln-registry-auth-", /*start_registry=*/false) {}

  void SetUp() override {
    if (std::string why = TestRegistry::UnavailableReason(); !why.empty())
      KILN_SKIP_UNLESS_REQUIRED(why);
    RegistryTest::SetUp();
    if (HasFatalFailure()) return;
    store_ = OpenStore("content");
    ASSERT_NE(store_, nullptr);
    Result<oci::Descriptor> root = testing::StoreImage(
        store_.get(), {.os = "linux", .architecture = "amd64"},
        testing::MakeTar({{"secret", "only for kiln"}}),
        std::string(oci::kMediaTypeLayer));
    ASSERT_TRUE(root.ok());
    root_ = *root;
  }
  void TearDown() override {
    registry_.reset();
    token_server_.reset();
    RegistryTest::TearDown();
  }

  // A token server (with `options`) and a registry that sends clients to it.
  void StartWithTokenServer(testing::TokenServerOptions options = {}) {
    auto server = TestTokenServer::Start(dir_, options);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    token_server_ = std::move(*server);
    StartRegistry({.extra_yaml = token_server_->RegistryAuthYaml()});
  }

  // A registry with basic auth for kiln:s3cret from an htpasswd file; skips
  // the test when htpasswd is not installed.
  void StartWithHtpasswd() {
    testing::CommandResult hash =
        testing::RunCommand({"htpasswd", "-Bbn", "kiln", "s3cret"});
    if (hash.exit_code == -1)
      KILN_SKIP_UNLESS_REQUIRED("htpasswd is not installed (apache2-utils)");
    ASSERT_EQ(hash.exit_code, 0) << hash.output;
    testing::WriteFile(dir_ + "/htpasswd", hash.output);
    StartRegistry({.extra_yaml = "auth:\n  htpasswd:\n    realm: kiln-test\n"
                                 "    path: " +
                                 dir_ + "/htpasswd\n"});
  }

  // A client whose docker config holds `auth_entry` for the registry.
  std::unique_ptr<RegistryClient> Client(const std::string& auth_entry,
                                         ContentStore* store) {
    const std::string path =
        dir_ + "/docker-config-" + std::to_string(++configs_) + ".json";
    testing::WriteFile(path, R"({"auths":{")" + registry_->host() + R"(":)" +
                                 auth_entry + "}}");
    RegistryConfig config = registry_->ClientConfig();
    config.docker_config_path = path;
    return std::make_unique<RegistryClient>(config, store);
  }

  int configs_ = 0;
  std::unique_ptr<ContentStore> store_;
  oci::Descriptor root_;
  std::unique_ptr<TestTokenServer> token_server_;
};

TEST_F(RegistryAuthTest, BearerTokenWithRightCredentialsPushesAndPulls) {
  ASSERT_NO_FATAL_FAILURE(StartWithTokenServer());

  auto client =
      Client(R"({"auth":")" + Base64("kiln:s3cret") + R"("})", store_.get());
  Status pushed = client->Push(Ref("private/app:1"), root_);
  ASSERT_TRUE(pushed.ok()) << pushed.ToString() << "\n" << registry_->Log();

  auto target = ContentStore::Open(dir_ + "/target");
  ASSERT_TRUE(target.ok());
  auto puller =
      Client(R"({"username":"kiln","password":"s3cret"})", target->get());
  Result<PulledImage> image = puller->Pull(Ref("private/app:1"));
  ASSERT_TRUE(image.ok()) << image.status().ToString();
  EXPECT_EQ(image->root.digest, root_.digest);
  EXPECT_TRUE((*target)->Has(image->parsed_manifest.layers[0].digest));

  // The token for this scope is cached: resolving again fetches none.
  const int tokens = token_server_->token_requests();
  ASSERT_TRUE(puller->Resolve(Ref("private/app:1")).ok());
  ASSERT_TRUE(puller->Resolve(Ref("private/app:1")).ok());
  EXPECT_EQ(token_server_->token_requests(), tokens);
}

TEST_F(RegistryAuthTest, AccessTokenFieldIsAccepted) {
  ASSERT_NO_FATAL_FAILURE(StartWithTokenServer({.access_token_field = true}));
  auto client =
      Client(R"({"auth":")" + Base64("kiln:s3cret") + R"("})", store_.get());
  Status pushed = client->Push(Ref("private/app:1"), root_);
  EXPECT_TRUE(pushed.ok()) << pushed.ToString();
}

TEST_F(RegistryAuthTest, BearerTokenWithWrongCredentialsIsAClearError) {
  ASSERT_NO_FATAL_FAILURE(StartWithTokenServer());

  auto client =
      Client(R"({"auth":")" + Base64("kiln:wrong") + R"("})", store_.get());
  Status pushed = client->Push(Ref("private/app:1"), root_);
  ASSERT_FALSE(pushed.ok());
  EXPECT_EQ(pushed.code(), StatusCode::kUnauthenticated) << pushed.ToString();
  const std::string& m = pushed.message();
  EXPECT_NE(m.find("registry " + registry_->host()), std::string::npos) << m;
  EXPECT_NE(m.find("user \"kiln\""), std::string::npos) << m;
  EXPECT_NE(m.find(token_server_->realm()), std::string::npos) << m;
  EXPECT_NE(m.find("http 401"), std::string::npos) << m;

  // Anonymous: the token server grants nothing, the registry refuses.
  const std::string missing = dir_ + "/absent.json";
  RegistryConfig config = registry_->ClientConfig();
  config.docker_config_path = missing;
  RegistryClient anonymous(config, store_.get());
  Result<PulledImage> pulled = anonymous.Pull(Ref("private/app:1"));
  ASSERT_FALSE(pulled.ok());
  EXPECT_EQ(pulled.status().code(), StatusCode::kUnauthenticated)
      << pulled.status().ToString();
  EXPECT_NE(pulled.status().message().find(
                "no credentials for " + registry_->host() + " in " + missing),
            std::string::npos)
      << pulled.status().message();
}

TEST_F(RegistryAuthTest, HtpasswdBasicAuth) {
  ASSERT_NO_FATAL_FAILURE(StartWithHtpasswd());
  if (IsSkipped()) return;

  auto client =
      Client(R"({"auth":")" + Base64("kiln:s3cret") + R"("})", store_.get());
  Status pushed = client->Push(Ref("basic/app:1"), root_);
  ASSERT_TRUE(pushed.ok()) << pushed.ToString() << "\n" << registry_->Log();
  Result<oci::Descriptor> d = client->Resolve(Ref("basic/app:1"));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->digest, root_.digest);

  auto wrong = Client(R"({"username":"kiln","password":"nope"})", store_.get());
  Result<oci::Descriptor> refused = wrong->Resolve(Ref("basic/app:1"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnauthenticated);
  const std::string& m = refused.status().message();
  EXPECT_NE(m.find("registry " + registry_->host() +
                   " rejected the credentials of user \"kiln\""),
            std::string::npos)
      << m;
}

TEST_F(RegistryAuthTest, CredentialHelpersAreReportedWhenNeeded) {
  ASSERT_NO_FATAL_FAILURE(StartWithHtpasswd());
  if (IsSkipped()) return;
  const std::string path = dir_ + "/helper-config.json";
  testing::WriteFile(path, R"({"credHelpers":{")" + registry_->host() +
                               R"(":"secretservice"}})");
  RegistryConfig config = registry_->ClientConfig();
  config.docker_config_path = path;
  RegistryClient client(config, store_.get());
  Result<oci::Descriptor> d = client.Resolve(Ref("basic/app:1"));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), StatusCode::kUnimplemented);
  EXPECT_NE(d.status().message().find("docker-credential-secretservice"),
            std::string::npos)
      << d.status().message();
  EXPECT_NE(d.status().message().find(path), std::string::npos);
}

}  // namespace
}  // namespace kiln::solver
