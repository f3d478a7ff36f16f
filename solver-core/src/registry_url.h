// URLs as the registry client judges them: where a URL goes (to decide
// which host's settings and credentials apply), how a Location resolves and
// how a URL may appear in messages.
//
// Thread safety: plain functions and values.
#ifndef KILN_SOLVER_SRC_REGISTRY_URL_H_
#define KILN_SOLVER_SRC_REGISTRY_URL_H_

#include <string>
#include <string_view>

#include "kiln/llb/status.h"

namespace kiln::solver::internal {

// Where an absolute http(s) URL goes: scheme and host in lowercase, and the
// port (the scheme's default when the URL names none).
struct UrlOrigin {
  std::string scheme;  // "http" or "https"
  std::string host;    // "registry.example.com", "127.0.0.1", "[::1]"
  int port = 0;

  // "host", or "host:port" when the port is not the scheme's default: the
  // key RegistryConfig uses for the host.
  std::string HostKey() const;
  bool SameHost(const UrlOrigin& other) const {
    return host == other.host && port == other.port;
  }
  bool operator==(const UrlOrigin& other) const = default;
};

// InvalidArgument when `url` is not an absolute http or https URL.
Result<UrlOrigin> ParseUrlOrigin(std::string_view url);

// `reference` (absolute, "/path", "path?query", "//host/path") resolved
// against the absolute URL `base`; `reference` unchanged when it cannot be.
std::string ResolveUrl(std::string_view base, std::string_view reference);

// `url` fit for error messages and logs: without user information, query
// string and fragment ("https://h/upload/1?X-Amz-Signature=…" becomes
// "https://h/upload/1").
std::string RedactUrl(std::string_view url);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_REGISTRY_URL_H_
