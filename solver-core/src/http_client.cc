#include "http_client.h"

#include <curl/curl.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <mutex>

namespace kiln::solver::internal {
namespace {

constexpr size_t kMaxIdleHandles = 16;
constexpr int kMaxRedirects = 10;
constexpr size_t kMaxErrorBody = 64 << 10;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

// Per-transfer state shared with curl's callbacks.
struct Transfer {
  CURL* curl = nullptr;
  const HttpRequest* request = nullptr;
  HttpResponse* response = nullptr;
  Status sink_error;  // why a callback stopped the transfer
  // Upload state.
  int fd = -1;
  int64_t sent = 0;
};

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    t->response->headers.clear();  // a new response (after a redirect or 100)
    return size * count;
  }
  const size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    t->response->headers.emplace_back(
        Lower(Trim(line.substr(0, colon))),
        std::string(Trim(line.substr(colon + 1))));
  }
  return size * count;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  long code = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
  const bool success = code >= 200 && code < 300;
  if (t->request->sink && success) {
    Status s = t->request->sink(std::string_view(data, n));
    if (!s.ok()) {
      t->sink_error = std::move(s);
      return 0;  // makes curl fail with CURLE_WRITE_ERROR
    }
    return n;
  }
  if (!success) {
    // Error details only: a limit for a manifest's size must not turn a
    // registry's 404 into a size error.
    const size_t room =
        kMaxErrorBody - std::min(kMaxErrorBody, t->response->body.size());
    t->response->body.append(data, std::min(n, room));
    return n;
  }
  if (static_cast<int64_t>(t->response->body.size() + n) >
      t->request->max_body_size) {
    t->sink_error = ResourceExhaustedError(
        t->request->method + " " + RedactUrl(t->request->url) +
        ": response body larger than " +
        std::to_string(t->request->max_body_size) + " bytes");
    return 0;
  }
  t->response->body.append(data, n);
  return n;
}

size_t OnRead(char* buffer, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const HttpBody& body = *t->request->body;
  const int64_t left = body.size() - t->sent;
  const size_t want =
      static_cast<size_t>(std::min<int64_t>(left, size * count));
  if (want == 0) return 0;
  if (body.file.empty()) {
    std::memcpy(buffer, body.data.data() + t->sent, want);
    t->sent += static_cast<int64_t>(want);
    return want;
  }
  const ssize_t n = pread(t->fd, buffer, want, body.offset + t->sent);
  if (n <= 0) {
    t->sink_error =
        InternalError("reading " + body.file + " for upload: " +
                      (n == 0 ? std::string("unexpected end of file")
                              : std::string(std::strerror(errno))));
    return CURL_READFUNC_ABORT;
  }
  t->sent += n;
  return static_cast<size_t>(n);
}

int OnSeek(void* user, curl_off_t offset, int origin) {
  auto* t = static_cast<Transfer*>(user);
  if (origin != SEEK_SET || offset < 0 || offset > t->request->body->size()) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  t->sent = offset;
  return CURL_SEEKFUNC_OK;
}

Status TransportError(const HttpRequest& request, CURLcode code,
                      const char* detail) {
  std::string message = request.method + " " + RedactUrl(request.url) +
                        ": curl: " + curl_easy_strerror(code);
  if (detail != nullptr && *detail != '\0')
    message += " (" + std::string(detail) + ")";
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return DeadlineExceededError(std::move(message));
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return FailedPreconditionError(std::move(message));
    default:
      return UnavailableError(std::move(message));
  }
}

bool IsAuthorization(std::string_view header) {
  constexpr std::string_view kName = "authorization:";
  return header.size() >= kName.size() &&
         Lower(header.substr(0, kName.size())) == kName;
}

// Whether a `method` request answered `status` follows the Location.
bool Follows(std::string_view method, long status) {
  if (status == 307 || status == 308) return true;
  const bool read = method == "GET" || method == "HEAD";
  return read && (status == 301 || status == 302 || status == 303);
}

// Sets up `curl` (a reset handle) for `request`, performs it and collects
// the response; `response->redirect_url` is the resolved Location of a 3xx.
Result<HttpResponse> Perform(CURL* curl, const HttpRequest& request) {
  HttpResponse response;
  Transfer t{.curl = curl, .request = &request, .response = &response};
  if (request.body && !request.body->file.empty()) {
    t.fd = open(request.body->file.c_str(), O_RDONLY | O_CLOEXEC);
    if (t.fd < 0) {
      return InternalError("opening " + request.body->file +
                           " for upload: " + std::strerror(errno));
    }
  }

  char error_buffer[CURL_ERROR_SIZE] = {0};
  curl_slist* headers = nullptr;
  for (const std::string& h : request.headers)
    headers = curl_slist_append(headers, h.c_str());
  headers =
      curl_slist_append(headers, "Expect:");  // no 100-continue round trip

  curl_easy_reset(curl);  // keeps live connections
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);  // FollowRedirects does
  curl_easy_setopt(curl, CURLOPT_UNRESTRICTED_AUTH, 0L);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "kiln");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
                   static_cast<long>(request.connect_timeout_seconds));
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
                   static_cast<long>(request.stall_timeout_seconds));
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  if (!request.verify_tls) {
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  curl_blob ca_blob{};
  if (!request.ca_bundle_pem.empty()) {
    ca_blob.data = const_cast<char*>(request.ca_bundle_pem.data());
    ca_blob.len = request.ca_bundle_pem.size();
    ca_blob.flags = CURL_BLOB_COPY;  // the handle outlives this request
    curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca_blob);
  }

  const std::string& method = request.method;
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method == "GET") {
    curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
  } else if (request.body) {
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, OnRead);
    curl_easy_setopt(curl, CURLOPT_READDATA, &t);
    curl_easy_setopt(curl, CURLOPT_SEEKFUNCTION, OnSeek);
    curl_easy_setopt(curl, CURLOPT_SEEKDATA, &t);
    if (method == "POST") {
      curl_easy_setopt(curl, CURLOPT_POST, 1L);
      curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                       static_cast<curl_off_t>(request.body->size()));
    } else {
      curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE,
                       static_cast<curl_off_t>(request.body->size()));
      if (method != "PUT")
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
    }
  } else if (method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
                     static_cast<curl_off_t>(0));
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
  } else {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }

  const CURLcode code = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  char* info = nullptr;
  if (curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &info) == CURLE_OK &&
      info != nullptr) {
    response.effective_url = info;
  }
  info = nullptr;
  if (status >= 300 && status < 400 &&
      curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &info) == CURLE_OK &&
      info != nullptr) {
    response.redirect_url = info;
  }
  curl_slist_free_all(headers);
  if (t.fd >= 0) close(t.fd);
  // Detach the per-call pointers before the handle goes back to the pool.
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, nullptr);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);

  if (!t.sink_error.ok()) return t.sink_error;
  if (code != CURLE_OK) return TransportError(request, code, error_buffer);
  response.status = static_cast<int>(status);
  return response;
}

// Performs `request` and the redirects it leads to (file comment of
// http_client.h).
Result<HttpResponse> FollowRedirects(CURL* curl, const HttpRequest& request) {
  const bool http_allowed = Lower(request.url.substr(0, 7)) == "http://";
  const HttpRequest* current = &request;
  HttpRequest redirected;
  for (int hops = 0;; ++hops) {
    KILN_ASSIGN_OR_RETURN(HttpResponse response, Perform(curl, *current));
    if (response.redirect_url.empty() ||
        !Follows(current->method, response.status)) {
      return response;
    }
    const std::string what = current->method + " " + RedactUrl(current->url);
    const std::string to = RedactUrl(response.redirect_url);
    if (hops == kMaxRedirects) {
      return FailedPreconditionError(what + ": more than " +
                                     std::to_string(kMaxRedirects) +
                                     " redirects (the last to " + to + ")");
    }
    Result<UrlOrigin> next_origin = ParseUrlOrigin(response.redirect_url);
    if (!next_origin.ok()) {
      return FailedPreconditionError(what + ": refusing redirect to " + to +
                                     ": not an http or https URL");
    }
    if (next_origin->scheme == "http" && !http_allowed) {
      return FailedPreconditionError(
          what + ": refusing redirect from https to plain http (" + to + ")");
    }
    HttpRequest next = *current;
    next.url = response.redirect_url;
    Result<UrlOrigin> origin = ParseUrlOrigin(current->url);
    if (!origin.ok() || !(*origin == *next_origin)) {
      std::erase_if(next.headers, IsAuthorization);
      if (next.on_cross_origin_redirect)
        KILN_RETURN_IF_ERROR(next.on_cross_origin_redirect(&next));
    }
    redirected = std::move(next);
    current = &redirected;
  }
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

std::string HttpResponse::Header(std::string_view name) const {
  const std::string want = Lower(name);
  for (const auto& [key, value] : headers) {
    if (key == want) return value;
  }
  return "";
}

std::string HttpStatusText(int status) {
  return "http " + std::to_string(status);
}

HttpClient::HttpClient() { GlobalInit(); }

HttpClient::~HttpClient() {
  for (void* handle : idle_) curl_easy_cleanup(static_cast<CURL*>(handle));
}

void* HttpClient::AcquireHandle() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      void* handle = idle_.back();
      idle_.pop_back();
      curl_easy_reset(static_cast<CURL*>(handle));  // keeps live connections
      return handle;
    }
  }
  return curl_easy_init();
}

void HttpClient::ReleaseHandle(void* handle) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < kMaxIdleHandles) {
    idle_.push_back(handle);
    return;
  }
  curl_easy_cleanup(static_cast<CURL*>(handle));
}

std::string HttpClient::DefaultCaFile() {
  GlobalInit();
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return "";
  char* path = nullptr;
  std::string out;
  if (curl_easy_getinfo(curl, CURLINFO_CAINFO, &path) == CURLE_OK &&
      path != nullptr)
    out = path;
  curl_easy_cleanup(curl);
  return out;
}

Result<HttpResponse> HttpClient::Do(const HttpRequest& request) {
  CURL* curl = static_cast<CURL*>(AcquireHandle());
  if (curl == nullptr) return InternalError("curl_easy_init failed");
  Result<HttpResponse> out = FollowRedirects(curl, request);
  ReleaseHandle(curl);
  return out;
}

}  // namespace kiln::solver::internal
