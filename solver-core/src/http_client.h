// A small blocking HTTP client over libcurl for the registry client: one
// request per call, no retries and no authentication logic (the caller owns
// both), response bodies either collected or streamed to a sink.
//
// Redirects are followed by this client, not by curl, so that each hop is
// checked: at most 10 of them; GET and HEAD follow 301, 302, 303, 307 and
// 308, other methods only 307 and 308 (re-sending the body; any other 3xx is
// the result). A redirect to plain http is refused unless the original URL
// was http, and once a redirect leaves the origin (scheme, host or port) no
// Authorization header is sent any more: blob downloads redirected to object
// storage (presigned URLs) must not carry the registry's credentials.
//
// URLs in error messages are redacted (RedactUrl, registry_url.h): registries
// hand out upload and download URLs whose query strings are bearer secrets.
//
// Thread safety: an HttpClient may be used from many threads at once; it
// keeps a small pool of curl handles so that connections are reused.
#ifndef KILN_SOLVER_SRC_HTTP_CLIENT_H_
#define KILN_SOLVER_SRC_HTTP_CLIENT_H_

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kiln/llb/status.h"
#include "registry_url.h"

namespace kiln::solver::internal {

// A request body that can be produced again for every attempt: either bytes
// or a range of a file (blob uploads stream from the content store).
struct HttpBody {
  std::string data;  // used when `file` is empty
  std::string file;  // path of a file to send [offset, offset + length)
  int64_t offset = 0;
  int64_t length = 0;

  int64_t size() const {
    return file.empty() ? static_cast<int64_t>(data.size()) : length;
  }
};

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, PUT, POST, PATCH, DELETE
  std::string url;
  std::vector<std::string> headers;  // "Name: value"
  std::optional<HttpBody> body;
  // When set, the body of a 2xx response goes here (in pieces) instead of
  // into HttpResponse::body; an error stops the transfer and is returned by
  // HttpClient::Do unchanged.
  std::function<Status(std::string_view)> sink;
  // TLS: verification on/off, and a PEM bundle replacing curl's default CA
  // file (empty: the system's CAs).
  bool verify_tls = true;
  std::string ca_bundle_pem;
  int connect_timeout_seconds = 30;
  int stall_timeout_seconds = 60;  // fail when no byte moved for this long
  // Largest collected (not streamed) body of a 2xx response; larger is an
  // error. Other responses keep at most their first 64 KiB (error details).
  int64_t max_body_size = 16 << 20;
  // Called before a redirect to another origin is followed, with the request
  // about to be sent (its URL the new one, Authorization headers removed):
  // sets that host's TLS settings. An error stops the request and is
  // returned unchanged.
  std::function<Status(HttpRequest* next)> on_cross_origin_redirect;
};

struct HttpResponse {
  int status = 0;
  // Headers of the final response, names lowercased, values trimmed.
  std::vector<std::pair<std::string, std::string>> headers;
  // The body, unless it was streamed to the request's sink.
  std::string body;
  // The URL answered last (after redirects).
  std::string effective_url;
  // The resolved Location of a 3xx response that was not followed.
  std::string redirect_url;

  // First value of a header (case-insensitive name), or empty.
  std::string Header(std::string_view name) const;
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Performs one request, following redirects as the file comment says. Any
  // HTTP status is a successful result. Errors: transport failures as
  // Unavailable (connection refused/reset, truncated transfer) or
  // DeadlineExceeded (timeouts), TLS failures (handshake, certificate) and
  // refused redirects as FailedPrecondition, a collected body over the limit
  // as ResourceExhausted, each saying "METHOD URL: …" with the URL redacted;
  // an error of the sink, of reading an upload file or of
  // on_cross_origin_redirect, unchanged.
  Result<HttpResponse> Do(const HttpRequest& request);

  // curl's default CA bundle file, or empty when unknown.
  static std::string DefaultCaFile();

 private:
  void* AcquireHandle();
  void ReleaseHandle(void* handle);

  std::mutex mu_;
  std::vector<void*> idle_;  // guarded by mu_: CURL easy handles not in use
};

// Status-code context for an HTTP failure ("http 404").
std::string HttpStatusText(int status);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_HTTP_CLIENT_H_
