// The registry client's request path: which endpoints serve a registry
// (mirrors, then the origin), per-host transport settings (http or https, TLS
// verification, CAs), authentication (registry_auth.h) and retries with
// exponential backoff and jitter on connection errors, 429 and 5xx.
//
// Thread safety: a RegistryTransport may be used from many threads.
#ifndef KILN_SOLVER_SRC_REGISTRY_TRANSPORT_H_
#define KILN_SOLVER_SRC_REGISTRY_TRANSPORT_H_

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "http_client.h"
#include "kiln/llb/status.h"
#include "kiln/solver/registry_config.h"
#include "registry_auth.h"

namespace kiln::solver::internal {

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

  // Sends `request` (its URL built with Endpoint::Url) authorized for
  // `scopes`, retrying as the config says. `before_attempt` runs before each
  // try (to reset a streaming sink). Any HTTP status but 401/403 is a
  // result; those two become Unauthenticated / PermissionDenied errors naming
  // the registry, the identity and the scopes. Transport errors say the
  // method, URL, curl's error and the number of attempts.
  Result<HttpResponse> Send(const Endpoint& endpoint,
                            const std::vector<std::string>& scopes,
                            HttpRequest request,
                            const std::function<Status()>& before_attempt = {});

  // The absolute URL of a response's Location header.
  static std::string ResolveLocation(const Endpoint& endpoint,
                                     const HttpResponse& response);

 private:
  Status Prepare(std::string_view host, HttpRequest* request);
  Result<HttpResponse> SendWithRetry(
      std::string_view host, HttpRequest request,
      const std::function<Status()>& before_attempt);

  const RegistryConfig config_;
  HttpClient http_;
  RegistryAuth auth_;
  std::mutex ca_mu_;
  std::map<std::string, std::string>
      ca_bundles_;  // guarded by ca_mu_: host → PEM
};

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_REGISTRY_TRANSPORT_H_
