// Registry authentication as the docker CLI and containerd do it:
// WWW-Authenticate challenges (Bearer token or Basic), credentials from the
// docker CLI config file, and bearer tokens fetched from the challenge's realm
// and cached per registry and scope set.
//
// Thread safety: RegistryAuth may be used from many threads; its caches are
// guarded by a mutex and tokens are fetched outside of it (two threads may
// fetch the same token; the later one wins the cache slot).
#ifndef KILN_SOLVER_SRC_REGISTRY_AUTH_H_
#define KILN_SOLVER_SRC_REGISTRY_AUTH_H_

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_client.h"
#include "kiln/llb/status.h"

namespace kiln::solver::internal {

struct AuthChallenge {
  std::string scheme;  // lowercase: "bearer", "basic", …
  std::map<std::string, std::string>
      params;  // lowercase keys: realm, service, scope, error
};

// Parses a WWW-Authenticate value ("Bearer realm=\"…\",service=\"…\"",
// "Basic realm=x"), one or several challenges. Malformed parts are skipped.
std::vector<AuthChallenge> ParseWwwAuthenticate(std::string_view header);

struct Credentials {
  std::string username;
  std::string password;
  std::string identity_token;  // OAuth2 refresh token ("identitytoken")
  std::string helper;          // credential helper that holds them, if any
  std::string source;          // the config file they came from

  bool empty() const {
    return username.empty() && identity_token.empty() && helper.empty();
  }
};

// Credentials for `host` ("host[:port]"; "docker.io" also matches
// "https://index.docker.io/v1/") from a docker CLI config.json: credHelpers,
// then auths (base64 "auth", username/password, identitytoken), then
// credsStore. A missing (or unreadable) file gives empty credentials; a
// malformed one is InvalidArgument naming the file.
Result<Credentials> LoadCredentials(const std::string& config_path,
                                    std::string_view host);

// Sends a request without registry authentication, with the transport
// settings (TLS, retries) of the URL's host: how token requests go out.
using AuthSender = std::function<Result<HttpResponse>(HttpRequest request)>;

class RegistryAuth {
 public:
  RegistryAuth(std::string docker_config_path, AuthSender send);

  // The Authorization header ("Authorization: …") for a request to `host`
  // that needs `scopes` ("repository:name:pull,push"), or empty while no
  // challenge is known for the host. Fetches a bearer token when none is
  // cached. Errors: credentials unreadable or held by an unsupported helper
  // (Unimplemented); the token server rejecting the credentials
  // (Unauthenticated) or failing (its HTTP status or transport error).
  Result<std::string> Header(const std::string& host,
                             const std::vector<std::string>& scopes);

  // Records the challenge of a 401 response from `host` and drops cached
  // tokens for `scopes`, so the next Header() authenticates afresh. Errors:
  // a 401 without a usable challenge (Unauthenticated).
  Status OnUnauthorized(const std::string& host,
                        const std::vector<std::string>& scopes,
                        const HttpResponse& response);

  // The error for a request that the registry refused even after
  // authenticating (401 again, or 403): who was refused (user or anonymous,
  // and where the credentials came from) and for which scopes.
  Status Refused(const std::string& host,
                 const std::vector<std::string>& scopes,
                 const HttpResponse& response);

 private:
  struct Token {
    std::string value;
    std::chrono::steady_clock::time_point expires;
  };
  struct HostState {
    std::optional<AuthChallenge> challenge;
    std::optional<Credentials> credentials;  // loaded on first need
    std::map<std::string, Token> tokens;     // by sorted, joined scopes
  };

  Result<Credentials> CredentialsFor(const std::string& host);
  Result<Token> FetchToken(const std::string& host,
                           const AuthChallenge& challenge,
                           const Credentials& credentials,
                           const std::vector<std::string>& scopes);

  const std::string docker_config_path_;
  AuthSender send_;
  std::mutex mu_;
  std::map<std::string, HostState> hosts_;  // guarded by mu_
};

// status.h has no helper for this code.
inline Status UnauthenticatedError(std::string message) {
  return Status(StatusCode::kUnauthenticated, std::move(message));
}

// Helpers shared with the transport.
// "MANIFEST_UNKNOWN: manifest unknown" from a distribution error body, else
// the start of the body.
std::string ErrorBodySummary(const std::string& body);
std::string Base64Encode(std::string_view data);
std::string UrlEncode(std::string_view s);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_REGISTRY_AUTH_H_
