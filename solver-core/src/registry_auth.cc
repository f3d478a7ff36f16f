#include "registry_auth.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace kiln::solver::internal {
namespace {

using Clock = std::chrono::steady_clock;

std::string ScopeKey(std::vector<std::string> scopes) {
  std::sort(scopes.begin(), scopes.end());
  std::string key;
  for (const std::string& s : scopes) key += (key.empty() ? "" : " ") + s;
  return key;
}

std::string Who(const Credentials& c) {
  if (!c.username.empty())
    return "user \"" + c.username + "\" (from " + c.source + ")";
  if (!c.identity_token.empty()) return "the identity token from " + c.source;
  return "anonymous access";
}

std::string NoCredentialsHint(const std::string& host, const Credentials& c) {
  if (!c.empty()) return "";
  return "; no credentials for " + host + " in " +
         (c.source.empty() ? std::string("the docker config (no path)")
                           : c.source);
}

// "http 401 UNAUTHORIZED: authentication required", or just "http 401".
std::string StatusWithBody(const HttpResponse& response) {
  const std::string summary = ErrorBodySummary(response.body);
  return HttpStatusText(response.status) +
         (summary.empty() ? "" : " " + summary);
}

}  // namespace

RegistryAuth::RegistryAuth(std::string docker_config_path, AuthSender send)
    : docker_config_path_(std::move(docker_config_path)),
      send_(std::move(send)) {}

Result<Credentials> RegistryAuth::CredentialsFor(const std::string& host) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    const HostState& state = hosts_[host];
    if (state.credentials) return *state.credentials;
  }
  KILN_ASSIGN_OR_RETURN(Credentials creds,
                        LoadCredentials(docker_config_path_, host));
  std::lock_guard<std::mutex> lock(mu_);
  hosts_[host].credentials = creds;
  return creds;
}

Result<std::string> RegistryAuth::Header(
    const std::string& host, const std::vector<std::string>& scopes) {
  const std::string key = ScopeKey(scopes);
  AuthChallenge challenge;
  {
    std::lock_guard<std::mutex> lock(mu_);
    HostState& state = hosts_[host];
    if (!state.challenge) return std::string();
    challenge = *state.challenge;
    if (auto it = state.tokens.find(key); it != state.tokens.end()) {
      if (it->second.expires > Clock::now())
        return "Authorization: Bearer " + it->second.value;
      state.tokens.erase(it);
    }
  }
  KILN_ASSIGN_OR_RETURN(Credentials creds, CredentialsFor(host));
  if (!creds.helper.empty()) {
    return UnimplementedError(
        "registry " + host + ": credentials are kept by the docker " +
        "credential helper \"docker-credential-" + creds.helper +
        "\" (configured in " + creds.source +
        "), which kiln does not support yet");
  }
  if (challenge.scheme == "basic") {
    if (creds.username.empty()) return std::string();
    return "Authorization: Basic " +
           Base64Encode(creds.username + ":" + creds.password);
  }
  KILN_ASSIGN_OR_RETURN(Token token,
                        FetchToken(host, challenge, creds, scopes));
  std::string header = "Authorization: Bearer " + token.value;
  std::lock_guard<std::mutex> lock(mu_);
  hosts_[host].tokens[key] = std::move(token);
  return header;
}

Result<RegistryAuth::Token> RegistryAuth::FetchToken(
    const std::string& host, const AuthChallenge& challenge,
    const Credentials& creds, const std::vector<std::string>& scopes) {
  auto realm_it = challenge.params.find("realm");
  if (realm_it == challenge.params.end() || realm_it->second.empty()) {
    return UnauthenticatedError("registry " + host +
                                ": bearer challenge without a realm");
  }
  const std::string& realm = realm_it->second;
  const std::string service = challenge.params.count("service")
                                  ? challenge.params.at("service")
                                  : std::string();
  HttpRequest request;
  if (!creds.identity_token.empty()) {
    // OAuth2 refresh-token grant, as the docker CLI does with identity tokens.
    std::string form =
        "grant_type=refresh_token&client_id=kiln&refresh_token=" +
        UrlEncode(creds.identity_token) + "&service=" + UrlEncode(service);
    std::string scope;
    for (const std::string& s : scopes) scope += (scope.empty() ? "" : " ") + s;
    if (!scope.empty()) form += "&scope=" + UrlEncode(scope);
    request.method = "POST";
    request.url = realm;
    request.headers.push_back(
        "Content-Type: application/x-www-form-urlencoded");
    request.body = HttpBody{.data = std::move(form)};
  } else {
    std::string url =
        realm + (realm.find('?') == std::string::npos ? "?" : "&");
    url += "service=" + UrlEncode(service);
    for (const std::string& s : scopes) url += "&scope=" + UrlEncode(s);
    request.url = std::move(url);
    if (!creds.username.empty()) {
      request.headers.push_back(
          "Authorization: Basic " +
          Base64Encode(creds.username + ":" + creds.password));
    }
  }
  const std::string what =
      "registry " + host + ": token server " + RedactUrl(realm);
  Result<HttpResponse> sent = send_(request);
  if (!sent.ok()) return sent.status().WithContext(what);
  const HttpResponse& response = *sent;
  if (response.status == 401 || response.status == 403) {
    std::string message = what + " rejected " + Who(creds) + " for " +
                          ScopeKey(scopes) + ": " + StatusWithBody(response) +
                          NoCredentialsHint(host, creds);
    return UnauthenticatedError(std::move(message));
  }
  if (response.status != 200) {
    const std::string message = what + ": " + StatusWithBody(response);
    if (response.status >= 500 || response.status == 429)
      return UnavailableError(message);
    return UnauthenticatedError(message);
  }
  Token token;
  int64_t expires_in = 60;
  try {
    const nlohmann::json j = nlohmann::json::parse(response.body);
    if (j.contains("token") && j["token"].is_string()) token.value = j["token"];
    if (token.value.empty() && j.contains("access_token") &&
        j["access_token"].is_string()) {
      token.value = j["access_token"];
    }
    if (j.contains("expires_in") && j["expires_in"].is_number_integer()) {
      expires_in = std::max<int64_t>(j["expires_in"].get<int64_t>(), 60);
    }
  } catch (const nlohmann::json::parse_error& e) {
    // Not e.what(): it quotes the text last read, which may be the token.
    return UnauthenticatedError(what +
                                ": bad token response: invalid JSON at byte " +
                                std::to_string(e.byte));
  } catch (const nlohmann::json::exception& e) {
    return UnauthenticatedError(what + ": bad token response: " + e.what());
  }
  if (token.value.empty())
    return UnauthenticatedError(what + ": response holds no token");
  // Renew a little early so a token never expires on its way to the registry.
  token.expires = Clock::now() + std::chrono::seconds(expires_in - 10);
  return token;
}

Status RegistryAuth::OnUnauthorized(const std::string& host,
                                    const std::vector<std::string>& scopes,
                                    const HttpResponse& response) {
  std::vector<AuthChallenge> challenges =
      ParseWwwAuthenticate(response.Header("www-authenticate"));
  const AuthChallenge* pick = nullptr;
  for (const AuthChallenge& c : challenges) {
    if (c.scheme == "bearer") {
      pick = &c;
      break;
    }
    if (c.scheme == "basic" && pick == nullptr) pick = &c;
  }
  if (pick == nullptr) {
    return UnauthenticatedError(
        "registry " + host + " answered " + HttpStatusText(response.status) +
        " without a Bearer or Basic challenge (WWW-Authenticate: \"" +
        response.Header("www-authenticate") + "\")");
  }
  std::lock_guard<std::mutex> lock(mu_);
  HostState& state = hosts_[host];
  AuthChallenge challenge = *pick;
  challenge.params.erase("scope");  // per request; we send our own
  challenge.params.erase("error");
  state.challenge = std::move(challenge);
  state.tokens.erase(ScopeKey(scopes));
  return Status::Ok();
}

Status RegistryAuth::Refused(const std::string& host,
                             const std::vector<std::string>& scopes,
                             const HttpResponse& response) {
  Credentials creds =
      CredentialsFor(host).value_or(Credentials{.source = docker_config_path_});
  AuthChallenge challenge;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const HostState& state = hosts_[host];
    if (state.challenge) challenge = *state.challenge;
  }
  std::string detail = StatusWithBody(response);
  for (AuthChallenge& c :
       ParseWwwAuthenticate(response.Header("www-authenticate"))) {
    if (!c.params["error"].empty()) detail += " (" + c.params["error"] + ")";
  }
  const std::string scope_text = ScopeKey(scopes);
  if (challenge.scheme == "basic" && !creds.username.empty()) {
    return UnauthenticatedError("registry " + host +
                                " rejected the credentials of " + Who(creds) +
                                " for " + scope_text + ": " + detail);
  }
  if (creds.empty()) {
    return UnauthenticatedError("registry " + host +
                                " requires authentication for " + scope_text +
                                ": " + detail + NoCredentialsHint(host, creds));
  }
  return PermissionDeniedError("registry " + host + " denied " + Who(creds) +
                               " access to " + scope_text + ": " + detail);
}

// "MANIFEST_UNKNOWN: manifest unknown" from a distribution error body, or
// the start of the body.
std::string ErrorBodySummary(const std::string& body) {
  try {
    const nlohmann::json j = nlohmann::json::parse(body);
    if (j.is_object() && j.contains("errors") && j["errors"].is_array() &&
        !j["errors"].empty()) {
      const nlohmann::json& e = j["errors"][0];
      return e.value("code", std::string()) + ": " +
             e.value("message", std::string());
    }
    if (j.is_object() && j.contains("details") && j["details"].is_string()) {
      return j["details"].get<std::string>();
    }
  } catch (const nlohmann::json::exception&) {
  }
  return body.substr(0, 200);
}

}  // namespace kiln::solver::internal
