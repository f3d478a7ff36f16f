#include "registry_transport.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace kiln::solver::internal {
namespace {

bool RetryableHttp(int status) {
  return status == 429 || (status >= 500 && status != 501 && status != 505);
}

bool RetryableTransport(const Status& s) {
  return s.code() == StatusCode::kUnavailable ||
         s.code() == StatusCode::kDeadlineExceeded;
}

// The RegistryConfig key of a URL's host ("https://h:5000/x" → "h:5000"),
// or empty when it is not an http(s) URL (curl then refuses it).
std::string UrlHostKey(std::string_view url) {
  Result<UrlOrigin> origin = ParseUrlOrigin(url);
  return origin.ok() ? origin->HostKey() : std::string();
}

bool RetriedByDefault(std::string_view method) {
  return method == "GET" || method == "HEAD";
}

// Delay before retry number `retry` (1-based): initial * 2^(retry-1), at most
// the configured maximum, jittered down by up to half so that clients that
// failed together do not retry together; a server's Retry-After (seconds)
// raises it.
std::chrono::milliseconds Backoff(const RegistryConfig& config, int retry,
                                  const HttpResponse* response) {
  using std::chrono::milliseconds;
  const int64_t max_ms = std::max<int64_t>(1, config.retry_max_backoff.count());
  int64_t base = std::max<int64_t>(1, config.retry_initial_backoff.count());
  for (int i = 1; i < retry && base < max_ms; ++i) base *= 2;
  base = std::min(base, max_ms);
  thread_local std::mt19937_64 rng{std::random_device{}()};
  int64_t delay = std::uniform_int_distribution<int64_t>(base / 2, base)(rng);
  if (response != nullptr) {
    const std::string after = response->Header("retry-after");
    if (!after.empty() &&
        std::all_of(after.begin(), after.end(),
                    [](unsigned char c) { return std::isdigit(c); }) &&
        after.size() < 6) {
      delay = std::max<int64_t>(delay, std::stoll(after) * 1000);
    }
  }
  return milliseconds(std::min(delay, max_ms));
}

}  // namespace

std::string Endpoint::Repo(const std::string& path) const {
  return prefix.empty() ? path : prefix + "/" + path;
}

std::string Endpoint::Url(const std::string& path,
                          const std::string& rest) const {
  return base_url + "/" + Repo(path) + "/" + rest;
}

std::string RepositoryScope(const std::string& repo, std::string_view actions) {
  return "repository:" + repo + ":" + std::string(actions);
}

Status HttpError(std::string_view what, const HttpResponse& response) {
  std::string message =
      std::string(what) + ": " + HttpStatusText(response.status);
  const std::string summary = ErrorBodySummary(response.body);
  if (!summary.empty()) message += " " + summary;
  const int s = response.status;
  if (s == 404) return NotFoundError(std::move(message));
  if (s == 401) return UnauthenticatedError(std::move(message));
  if (s == 403) return PermissionDeniedError(std::move(message));
  if (s == 429) return ResourceExhaustedError(std::move(message));
  if (s >= 500) return UnavailableError(std::move(message));
  if (s == 400) return InvalidArgumentError(std::move(message));
  if (s == 405) return UnimplementedError(std::move(message));
  if (s == 409 || s == 412 || s == 416)
    return FailedPreconditionError(std::move(message));
  return UnknownError(std::move(message));
}

Status ForEachBounded(size_t count, int limit,
                      const std::function<Status(size_t)>& fn) {
  const size_t workers =
      std::min<size_t>(count, static_cast<size_t>(std::max(1, limit)));
  if (workers <= 1) {
    for (size_t i = 0; i < count; ++i) KILN_RETURN_IF_ERROR(fn(i));
    return Status::Ok();
  }
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first;  // guarded by mu
  auto work = [&] {
    for (size_t i = next++; i < count && !failed; i = next++) {
      Status s = fn(i);
      if (s.ok()) continue;
      std::lock_guard<std::mutex> lock(mu);
      if (!failed.exchange(true)) first = std::move(s);
    }
  };
  std::vector<std::thread> threads;
  for (size_t i = 1; i < workers; ++i) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
  return first;
}

RegistryTransport::RegistryTransport(RegistryConfig config)
    : config_(std::move(config)),
      auth_(config_.docker_config_path.empty() ? DefaultDockerConfigPath()
                                               : config_.docker_config_path,
            [this](HttpRequest request) {
              // Token requests: an idempotent grant, retried.
              const std::string host = UrlHostKey(request.url);
              return SendWithRetry(host, std::move(request),
                                   SendOptions{.retry = true});
            }) {}

std::vector<Endpoint> RegistryTransport::Endpoints(const std::string& domain,
                                                   bool pull) const {
  std::vector<Endpoint> out;
  auto scheme = [&](const std::string& host) {
    return config_.Host(host).http ? std::string("http://")
                                   : std::string("https://");
  };
  if (pull) {
    for (const std::string& mirror : config_.Host(domain).mirrors) {
      const size_t slash = mirror.find('/');
      Endpoint e{.host = mirror.substr(0, slash), .mirror = true};
      if (slash != std::string::npos) {
        std::string prefix = mirror.substr(slash + 1);
        while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
        e.prefix = std::move(prefix);
      }
      e.base_url = scheme(e.host) + e.host + "/v2";
      out.push_back(std::move(e));
    }
  }
  // Docker Hub's API lives on another host than its name.
  const std::string api_host =
      domain == "docker.io" ? "registry-1.docker.io" : domain;
  out.push_back(
      Endpoint{.host = domain, .base_url = scheme(domain) + api_host + "/v2"});
  return out;
}

Status RegistryTransport::Prepare(std::string_view host, HttpRequest* request) {
  const RegistryHostConfig& hc = config_.Host(host);
  request->verify_tls = !hc.insecure;
  request->connect_timeout_seconds = config_.connect_timeout_seconds;
  request->stall_timeout_seconds = config_.stall_timeout_seconds;
  request->ca_bundle_pem.clear();
  request->on_cross_origin_redirect = [this](HttpRequest* next) {
    return Prepare(UrlHostKey(next->url), next);
  };
  if (hc.ca_files.empty()) return Status::Ok();
  std::lock_guard<std::mutex> lock(ca_mu_);
  auto it = ca_bundles_.find(std::string(host));
  if (it == ca_bundles_.end()) {
    // Extra CAs are trusted in addition to the system's, as buildkitd does.
    std::string bundle;
    if (std::ifstream system(HttpClient::DefaultCaFile()); system) {
      std::ostringstream text;
      text << system.rdbuf();
      bundle = text.str() + "\n";
    }
    for (const std::string& file : hc.ca_files) {
      std::ifstream in(file);
      if (!in) {
        return FailedPreconditionError("registry " + std::string(host) +
                                       ": ca file " + file + ": " +
                                       std::strerror(errno));
      }
      std::ostringstream text;
      text << in.rdbuf();
      bundle += text.str() + "\n";
    }
    it = ca_bundles_.emplace(std::string(host), std::move(bundle)).first;
  }
  request->ca_bundle_pem = it->second;
  return Status::Ok();
}

Result<HttpResponse> RegistryTransport::SendWithRetry(
    std::string_view host, HttpRequest request, const SendOptions& options) {
  KILN_RETURN_IF_ERROR(Prepare(host, &request));
  const int attempts = options.retry.value_or(RetriedByDefault(request.method))
                           ? std::max(1, config_.retry_attempts)
                           : 1;
  for (int attempt = 1;; ++attempt) {
    if (options.before_attempt) KILN_RETURN_IF_ERROR(options.before_attempt());
    Result<HttpResponse> response = http_.Do(request);
    const bool last = attempt >= attempts;
    if (!response.ok()) {
      if (!RetryableTransport(response.status())) return response.status();
      if (last) {
        std::string message = response.status().message();
        if (attempts > 1)
          message += " (after " + std::to_string(attempts) + " attempts)";
        return Status(response.status().code(), std::move(message));
      }
      std::this_thread::sleep_for(Backoff(config_, attempt, nullptr));
      continue;
    }
    if (last || !RetryableHttp(response->status)) return response;
    std::this_thread::sleep_for(Backoff(config_, attempt, &*response));
  }
}

void RegistryTransport::WaitBeforeRetry(int retry) const {
  std::this_thread::sleep_for(Backoff(config_, retry, nullptr));
}

Result<HttpResponse> RegistryTransport::SendToOtherHost(
    const Endpoint& endpoint, const UrlOrigin& endpoint_origin,
    const UrlOrigin& target, HttpRequest request, const SendOptions& options) {
  const std::string host = target.HostKey();
  const std::string what = request.method + " " + RedactUrl(request.url) +
                           " (on " + host + ", not on registry " +
                           endpoint.host + ")";
  if (target.scheme == "http" &&
      (endpoint_origin.scheme != "http" || !config_.Host(host).http)) {
    return FailedPreconditionError(
        what + ": refusing plain http; the registry config must allow it " +
        "(http = true) for both " + endpoint.host + " and " + host);
  }
  // No credentials: they belong to the registry, not to wherever its
  // responses point (containerd drops its authorizer likewise).
  KILN_ASSIGN_OR_RETURN(HttpResponse response,
                        SendWithRetry(host, std::move(request), options));
  if (response.status == 401 || response.status == 403) {
    return HttpError(what + ", sent without the registry's credentials",
                     response);
  }
  return response;
}

Result<HttpResponse> RegistryTransport::Send(
    const Endpoint& endpoint, const std::vector<std::string>& scopes,
    HttpRequest request, const SendOptions& options) {
  const std::string what = request.method + " " + RedactUrl(request.url);
  Result<UrlOrigin> target = ParseUrlOrigin(request.url);
  if (!target.ok()) return FailedPreconditionError(target.status().message());
  Result<UrlOrigin> base = ParseUrlOrigin(endpoint.base_url);
  if (!base.ok()) return InternalError(base.status().message());
  if (!target->SameHost(*base)) {
    return SendToOtherHost(endpoint, *base, *target, std::move(request),
                           options);
  }
  if (target->scheme == "http" && base->scheme != "http") {
    return FailedPreconditionError(what + ": refusing plain http to registry " +
                                   endpoint.host + ", which speaks https");
  }
  bool reauthenticated = false;
  for (;;) {
    Result<std::string> header = auth_.Header(endpoint.host, scopes);
    if (!header.ok()) return header.status().WithContext(what);
    HttpRequest attempt = request;
    if (!header->empty()) attempt.headers.push_back(*header);
    Result<HttpResponse> response =
        SendWithRetry(endpoint.host, std::move(attempt), options);
    if (!response.ok()) {
      Status s = response.status();
      // A TLS failure (not a refused redirect) may mean plain http.
      if (s.code() == StatusCode::kFailedPrecondition &&
          s.message().find(": curl: ") != std::string::npos &&
          target->scheme == "https" && !config_.Host(endpoint.host).http) {
        return Status(s.code(),
                      s.message() + " (if " + endpoint.host +
                          " speaks plain http, set http = true for it in the "
                          "registry config)");
      }
      return s;
    }
    if (response->status == 401 && !reauthenticated) {
      KILN_RETURN_IF_ERROR(
          auth_.OnUnauthorized(endpoint.host, scopes, *response)
              .WithContext(what));
      reauthenticated = true;
      continue;
    }
    if (response->status == 401 || response->status == 403) {
      return auth_.Refused(endpoint.host, scopes, *response).WithContext(what);
    }
    return response;
  }
}

std::string RegistryTransport::ResolveLocation(std::string_view request_url,
                                               const HttpResponse& response) {
  const std::string location = response.Header("location");
  return ResolveUrl(
      response.effective_url.empty() ? request_url : response.effective_url,
      location);
}

}  // namespace kiln::solver::internal
