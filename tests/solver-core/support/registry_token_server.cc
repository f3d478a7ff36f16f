#include "registry_token_server.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace kiln::solver::testing {
namespace {

std::string Base64(const unsigned char* data, size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  data, static_cast<int>(n));
  out.resize(static_cast<size_t>(len));
  return out;
}

std::string Base64Url(std::string_view data) {
  std::string out =
      Base64(reinterpret_cast<const unsigned char*>(data.data()), data.size());
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  while (!out.empty() && out.back() == '=') out.pop_back();
  return out;
}

std::string Base64Decode(const std::string& in) {
  std::string out(in.size() / 4 * 3 + 3, '\0');
  const int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(in.data()),
                      static_cast<int>(in.size()));
  if (n < 0) return "";
  size_t len = static_cast<size_t>(n);
  for (size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) --len;
  out.resize(len);
  return out;
}

}  // namespace

Result<std::unique_ptr<TestTokenServer>> TestTokenServer::Start(
    const std::string& dir, TokenServerOptions options) {
  std::unique_ptr<TestTokenServer> server(new TestTokenServer());
  server->options_ = std::move(options);
  EVP_PKEY* key = EVP_RSA_gen(2048);
  if (key == nullptr) return InternalError("RSA key generation failed");
  server->key_ = key;

  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 86400);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(
      name, "CN", MBSTRING_ASC,
      reinterpret_cast<const unsigned char*>("kiln test token issuer"), -1, -1,
      0);
  X509_set_issuer_name(cert, name);
  X509_sign(cert, key, EVP_sha256());
  unsigned char* der = nullptr;
  const int der_len = i2d_X509(cert, &der);
  server->cert_der_base64_ = Base64(der, static_cast<size_t>(der_len));
  OPENSSL_free(der);
  server->cert_path_ = dir + "/token-cert.pem";
  FILE* f = std::fopen(server->cert_path_.c_str(), "w");
  const bool written = f != nullptr && PEM_write_X509(f, cert) == 1;
  if (f != nullptr) std::fclose(f);
  X509_free(cert);
  if (!written) return InternalError("cannot write " + server->cert_path_);

  TestTokenServer* self = server.get();
  KILN_ASSIGN_OR_RETURN(server->server_,
                        TestHttpServer::Start([self](const TestHttpRequest& r) {
                          return self->Handle(r);
                        }));
  return server;
}

TestTokenServer::~TestTokenServer() {
  server_.reset();  // stop serving before the key goes
  EVP_PKEY_free(static_cast<EVP_PKEY*>(key_));
}

std::string TestTokenServer::RegistryAuthYaml() const {
  return "auth:\n  token:\n    realm: " + realm() +
         "\n    service: " + options_.service +
         "\n    issuer: " + options_.issuer +
         "\n    rootcertbundle: " + cert_path_ + "\n";
}

std::string TestTokenServer::Sign(const std::string& subject,
                                  const std::string& access_json) const {
  const int64_t now = std::chrono::duration_cast<std::chrono::seconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  nlohmann::json header = {
      {"typ", "JWT"}, {"alg", "RS256"}, {"x5c", {cert_der_base64_}}};
  nlohmann::json claims = {
      {"iss", options_.issuer},
      {"sub", subject},
      {"aud", options_.service},
      {"exp", now + 300},
      {"nbf", now - 10},
      {"iat", now},
      {"jti", std::to_string(now) + "-" + std::to_string(rand())},
      {"access", nlohmann::json::parse(access_json)}};
  const std::string input =
      Base64Url(header.dump()) + "." + Base64Url(claims.dump());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  std::string sig;
  if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr,
                         static_cast<EVP_PKEY*>(key_)) == 1 &&
      EVP_DigestSign(ctx, nullptr, &len,
                     reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) == 1) {
    sig.resize(len);
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(input.data()),
                   input.size());
    sig.resize(len);
  }
  EVP_MD_CTX_free(ctx);
  return input + "." + Base64Url(sig);
}

TestHttpResponse TestTokenServer::Handle(const TestHttpRequest& request) {
  if (request.Path() != "/token") return {.status = 404};
  std::string subject;
  if (auto it = request.headers.find("authorization");
      it != request.headers.end()) {
    const std::string& value = it->second;
    if (value.rfind("Basic ", 0) != 0 ||
        Base64Decode(value.substr(6)) !=
            options_.user + ":" + options_.password) {
      return {.status = 401,
              .body = R"({"details":"invalid username or password"})"};
    }
    subject = options_.user;
  }
  if (request.Query("service") != std::vector<std::string>{options_.service}) {
    return {.status = 400, .body = R"({"details":"wrong service"})"};
  }
  // "repository:name:pull,push" → {type, name, actions}; anonymous gets none.
  nlohmann::json access = nlohmann::json::array();
  if (!subject.empty()) {
    for (const std::string& scope : request.Query("scope")) {
      const size_t first = scope.find(':');
      const size_t last = scope.rfind(':');
      if (first == std::string::npos || first == last) continue;
      nlohmann::json actions = nlohmann::json::array();
      std::string list = scope.substr(last + 1);
      for (size_t pos = 0; pos <= list.size();) {
        const size_t comma = list.find(',', pos);
        const std::string action = list.substr(
            pos, comma == std::string::npos ? std::string::npos : comma - pos);
        if (!action.empty()) actions.push_back(action);
        if (comma == std::string::npos) break;
        pos = comma + 1;
      }
      access.push_back({{"type", scope.substr(0, first)},
                        {"name", scope.substr(first + 1, last - first - 1)},
                        {"actions", actions}});
    }
  }
  const std::string token = Sign(subject, access.dump());
  nlohmann::json body = {
      {options_.access_token_field ? "access_token" : "token", token},
      {"expires_in", 300}};
  return {.status = 200,
          .headers = {{"Content-Type", "application/json"}},
          .body = body.dump()};
}

}  // namespace kiln::solver::testing
