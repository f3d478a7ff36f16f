// A small blocking HTTP client over libcurl for the registry client: one
// request per call, no retries and no authentication logic (the caller owns
// both), response bodies either collected or streamed to a sink.
//
// Redirects are followed (http and https only); curl drops a custom
// Authorization header when a redirect leaves the host, as blob downloads
// redirected to object storage require.
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
  // Largest collected (not streamed) body; larger is an error.
  int64_t max_body_size = 16 << 20;
};

struct HttpResponse {
  int status = 0;
  // Headers of the final response, names lowercased, values trimmed.
  std::vector<std::pair<std::string, std::string>> headers;
  // The body, unless it was streamed to the request's sink.
  std::string body;
  // The URL answered last (after redirects).
  std::string effective_url;

  // First value of a header (case-insensitive name), or empty.
  std::string Header(std::string_view name) const;
};

class HttpClient {
 public:
  HttpClient();
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Performs one request. Any HTTP status is a successful result. Errors:
  // transport failures as Unavailable (connection refused/reset, truncated
  // transfer) or DeadlineExceeded (timeouts), TLS failures (handshake,
  // certificate) as FailedPrecondition, a collected body over the limit as
  // ResourceExhausted, each saying "METHOD URL: curl: …"; an error of the
  // sink or of reading an upload file, unchanged.
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
