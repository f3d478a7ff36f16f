// A docker token-auth server for registry tests: issues RS256 JWTs (signed
// with a fresh key whose self-signed certificate the registry trusts through
// `auth: token: rootcertbundle`) as distribution's token spec describes.
// Right Basic credentials get every action they ask for; no credentials get
// a token granting nothing; wrong ones get 401.
#ifndef KILN_TESTS_SOLVER_CORE_SUPPORT_REGISTRY_TOKEN_SERVER_H_
#define KILN_TESTS_SOLVER_CORE_SUPPORT_REGISTRY_TOKEN_SERVER_H_

#include <atomic>
#include <memory>
#include <string>

#include "kiln/llb/status.h"
#include "registry_http_server.h"

namespace kiln::solver::testing {

struct TokenServerOptions {
  std::string user = "kiln";
  std::string password = "s3cret";
  std::string service = "kiln-test-registry";
  std::string issuer = "kiln-test-issuer";
  // Answer {"access_token": …} instead of {"token": …}.
  bool access_token_field = false;
};

class TestTokenServer {
 public:
  // Generates the key and certificate (written under `dir`) and starts serving.
  static Result<std::unique_ptr<TestTokenServer>> Start(
      const std::string& dir, TokenServerOptions options = {});
  ~TestTokenServer();

  // The `auth:` section for the registry's config.yml.
  std::string RegistryAuthYaml() const;
  std::string realm() const { return server_->url() + "/token"; }
  // Tokens issued (and requests refused) so far.
  int token_requests() const { return server_->requests(); }

 private:
  TestTokenServer() = default;
  TestHttpResponse Handle(const TestHttpRequest& request);
  std::string Sign(const std::string& subject,
                   const std::string& access_json) const;

  TokenServerOptions options_;
  std::string cert_path_;
  std::string cert_der_base64_;
  void* key_ = nullptr;  // EVP_PKEY
  std::unique_ptr<TestHttpServer> server_;
};

}  // namespace kiln::solver::testing

#endif  // KILN_TESTS_SOLVER_CORE_SUPPORT_REGISTRY_TOKEN_SERVER_H_
