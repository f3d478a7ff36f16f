// The registry client's request path: which endpoints serve a registry
// (mirrors, then the origin), per-host transport settings (http or https, TLS
// verification, CAs), authentication (registry_auth.h) and retries of
// idempotent requests with exponential backoff and jitter on connection
// errors, 429 and 5xx.
//
// Thread safety: a RegistryTransport may be used from many threads.
#ifndef KILN_SOLVER_SRC_REGISTRY_TRANSPORT_H_
#define KILN_SOLVER_SRC_REGISTRY_TRANSPORT_H_

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_client.h"
#include "kiln/llb/status.h"
#include "kiln/solver/registry_config.h"
#include "registry_auth.h"

namespace kiln::solver::internal {

// How RegistryTransport::Send sends one request.
struct SendOptions {
  // Runs before each try (to reset a streaming sink).
  std::function<Status()> before_attempt;
  // Whether connection errors, 429 and 5xx are retried. Unset: only GET and
  // HEAD are. Set it for other idempotent requests (a manifest PUT); never
  // for upload POSTs, PATCHes and PUTs, whose bodies a registry may have
  // partly taken (restart the upload instead).
  std::optional<bool> retry;
};

// One place a repository can be reached.
struct Endpoint {
  std::string host;      // settings and credentials key: "docker.io", "m:5000"
  std::string base_url;  // "https://registry-1.docker.io/v2"
  std::string prefix;    // a mirror's path prefix, or empty
  bool mirror = false;

  // The repository's name at this endpoint (prefix/path).
  std::string Repo(const std::string& path) const;
  // base_url/Repo(path)/rest, e.g. rest = "manifests/latest".
  std::string Url(const std::string& path, const std::string& rest) const;
};

// "repository:<repo>:<actions>".
std::string RepositoryScope(const std::string& repo, std::string_view actions);

// The error for an unsuccessful response: "what: http 404 MANIFEST_UNKNOWN:
// manifest unknown", coded by status (404 NotFound, 401 Unauthenticated,
// 403 PermissionDenied, 429 ResourceExhausted, 5xx Unavailable, 400
// InvalidArgument, 405 Unimplemented, 409/412/416 FailedPrecondition).
Status HttpError(std::string_view what, const HttpResponse& response);

// Runs fn(0) … fn(count - 1) on up to `limit` threads; after the first error
// no new item starts. Returns the first error (in completion order).
Status ForEachBounded(size_t count, int limit,
                      const std::function<Status(size_t)>& fn);

class RegistryTransport {
 public:
  explicit RegistryTransport(RegistryConfig config);

  const RegistryConfig& config() const { return config_; }

  // Endpoints of the registry `domain` ("docker.io", "127.0.0.1:5000"): for
  // pulls its configured mirrors in order, then the origin.
  std::vector<Endpoint> Endpoints(const std::string& domain, bool pull) const;

  // Sends `request` authorized for `scopes`, retrying as `options` and the
  // config say. Any HTTP status but 401/403 is a result; those two become
  // Unauthenticated / PermissionDenied errors naming the registry, the
  // identity and the scopes. Transport errors say the method, the (redacted)
  // URL, curl's error and the number of attempts.
  //
  // A URL on the endpoint's API host gets the endpoint's credentials and
  // transport settings. A URL on any other host (an upload Location the
  // registry handed out) is sent without credentials, with that host's own
  // settings (RegistryConfig::Host), and only over https unless both the
  // endpoint and that host are configured for plain http (else
  // FailedPrecondition); the same holds for plain http on the endpoint's own
  // host when the endpoint speaks https. Redirects get the settings of the
  // host they lead to (and never credentials, http_client.h).
  Result<HttpResponse> Send(const Endpoint& endpoint,
                            const std::vector<std::string>& scopes,
                            HttpRequest request,
                            const SendOptions& options = {});

  // Sleeps before retry number `retry` (1-based) of a multi-request
  // operation (exponential backoff with jitter, as for single requests).
  void WaitBeforeRetry(int retry) const;

  // The absolute URL of the Location header of the response to a request
  // for `request_url` (relative to the URL that answered).
  static std::string ResolveLocation(std::string_view request_url,
                                     const HttpResponse& response);

 private:
  // Applies the TLS settings of `host` (a RegistryConfig key) to `request`.
  Status Prepare(std::string_view host, HttpRequest* request);
  Result<HttpResponse> SendWithRetry(std::string_view host, HttpRequest request,
                                     const SendOptions& options);
  Result<HttpResponse> SendToOtherHost(const Endpoint& endpoint,
                                       const UrlOrigin& endpoint_origin,
                                       const UrlOrigin& target,
                                       HttpRequest request,
                                       const SendOptions& options);

  const RegistryConfig config_;
  HttpClient http_;
  RegistryAuth auth_;
  std::mutex ca_mu_;
  std::map<std::string, std::string>
      ca_bundles_;  // guarded by ca_mu_: host → PEM
};

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_REGISTRY_TRANSPORT_H_
