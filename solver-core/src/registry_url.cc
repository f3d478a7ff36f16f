#include "registry_url.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <memory>

namespace kiln::solver::internal {
namespace {

using UrlHandle = std::unique_ptr<CURLU, decltype(&curl_url_cleanup)>;

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
    return static_cast<char>(std::tolower(c));
  });
  return s;
}

// A part of the URL in `u`, or empty when it has none.
std::string Part(CURLU* u, CURLUPart which, unsigned flags) {
  char* value = nullptr;
  if (curl_url_get(u, which, &value, flags) != CURLUE_OK || value == nullptr)
    return "";
  std::string out(value);
  curl_free(value);
  return out;
}

}  // namespace

std::string UrlOrigin::HostKey() const {
  const int default_port = scheme == "http" ? 80 : 443;
  return port == default_port ? host : host + ":" + std::to_string(port);
}

Result<UrlOrigin> ParseUrlOrigin(std::string_view url) {
  const std::string text(url);
  UrlHandle u(curl_url(), &curl_url_cleanup);
  if (u == nullptr) return InternalError("curl_url failed");
  UrlOrigin origin;
  if (curl_url_set(u.get(), CURLUPART_URL, text.c_str(), 0) == CURLUE_OK) {
    origin.scheme = Lower(Part(u.get(), CURLUPART_SCHEME, 0));
    origin.host = Lower(Part(u.get(), CURLUPART_HOST, 0));
    const std::string port = Part(u.get(), CURLUPART_PORT, CURLU_DEFAULT_PORT);
    if (!port.empty() && port.size() < 6 &&
        port.find_first_not_of("0123456789") == std::string::npos) {
      origin.port = std::stoi(port);
    }
  }
  if ((origin.scheme != "http" && origin.scheme != "https") ||
      origin.host.empty() || origin.port == 0) {
    return InvalidArgumentError(RedactUrl(url) +
                                ": not an absolute http or https URL");
  }
  return origin;
}

std::string ResolveUrl(std::string_view base, std::string_view reference) {
  const std::string base_text(base);
  const std::string reference_text(reference);
  UrlHandle u(curl_url(), &curl_url_cleanup);
  // Setting a relative URL on a handle that holds one resolves it.
  if (u == nullptr ||
      curl_url_set(u.get(), CURLUPART_URL, base_text.c_str(), 0) != CURLUE_OK ||
      curl_url_set(u.get(), CURLUPART_URL, reference_text.c_str(), 0) !=
          CURLUE_OK) {
    return reference_text;
  }
  std::string resolved = Part(u.get(), CURLUPART_URL, 0);
  return resolved.empty() ? reference_text : resolved;
}

std::string RedactUrl(std::string_view url) {
  url = url.substr(0, url.find_first_of("?#"));
  const size_t scheme = url.find("://");
  const size_t authority = scheme == std::string_view::npos ? 0 : scheme + 3;
  const size_t path = url.find('/', authority);
  const size_t at = url.substr(0, path).rfind('@');
  if (at == std::string_view::npos || at < authority) return std::string(url);
  std::string out(url.substr(0, authority));
  out.append(url.substr(at + 1));
  return out;
}

}  // namespace kiln::solver::internal
