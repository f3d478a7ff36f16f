// Docker CLI config.json credentials and WWW-Authenticate parsing (the
// pieces of registry_auth.h that do no I/O beyond reading the config file).
#include <openssl/evp.h>

#include <cctype>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "registry_auth.h"

namespace kiln::solver::internal {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "https://index.docker.io/v1/" → "docker.io"; "http://h:5000/x" → "h:5000".
std::string NormalizeConfigKey(std::string_view key) {
  for (std::string_view scheme : {"https://", "http://"}) {
    if (key.substr(0, scheme.size()) == scheme)
      key.remove_prefix(scheme.size());
  }
  key = key.substr(0, key.find('/'));
  const std::string host = Lower(key);
  if (host == "index.docker.io" || host == "registry-1.docker.io")
    return "docker.io";
  return host;
}

Result<std::string> Base64Decode(std::string_view in) {
  std::string clean;
  for (char c : in) {
    if (!std::isspace(static_cast<unsigned char>(c))) clean.push_back(c);
  }
  if (clean.size() % 4 != 0) return InvalidArgumentError("bad base64 length");
  std::string out(clean.size() / 4 * 3, '\0');
  const int n =
      EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(clean.data()),
                      static_cast<int>(clean.size()));
  if (n < 0) return InvalidArgumentError("bad base64");
  size_t len = static_cast<size_t>(n);
  for (size_t i = clean.size(); i > 0 && clean[i - 1] == '='; --i)
    --len;  // padding
  out.resize(len);
  return out;
}

}  // namespace

std::string Base64Encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  const int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(data.data()),
                      static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string UrlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::vector<AuthChallenge> ParseWwwAuthenticate(std::string_view s) {
  std::vector<AuthChallenge> out;
  size_t i = 0;
  auto skip = [&](std::string_view chars) {
    while (i < s.size() && chars.find(s[i]) != std::string_view::npos) ++i;
  };
  while (i < s.size()) {
    skip(" \t,");
    const size_t start = i;
    while (i < s.size() &&
           std::string_view(" \t,=").find(s[i]) == std::string_view::npos)
      ++i;
    const std::string token(s.substr(start, i - start));
    if (token.empty()) {
      if (i < s.size()) ++i;
      continue;
    }
    skip(" \t");
    if (i >= s.size() || s[i] != '=' || out.empty()) {
      // A new challenge; a stray token68 ("Basic abc=") is skipped below.
      out.push_back(AuthChallenge{.scheme = Lower(token)});
      continue;
    }
    ++i;  // '='
    skip(" \t");
    std::string value;
    if (i < s.size() && s[i] == '"') {
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value.push_back(s[i]);
      }
      if (i < s.size()) ++i;  // closing quote
    } else {
      while (i < s.size() && s[i] != ',' && s[i] != ' ' && s[i] != '\t')
        value.push_back(s[i++]);
    }
    out.back().params[Lower(token)] = value;
  }
  return out;
}

Result<Credentials> LoadCredentials(const std::string& config_path,
                                    std::string_view host) {
  Credentials creds;
  creds.source = config_path;
  if (config_path.empty()) return creds;
  std::ifstream in(config_path, std::ios::binary);
  if (!in) return creds;  // no docker config: anonymous
  std::ostringstream text;
  text << in.rdbuf();
  const std::string want = NormalizeConfigKey(host);
  try {
    const nlohmann::json config = nlohmann::json::parse(text.str());
    if (!config.is_object()) {
      return InvalidArgumentError("docker config " + config_path +
                                  ": not a JSON object");
    }
    if (auto helpers = config.find("credHelpers");
        helpers != config.end() && helpers->is_object()) {
      for (const auto& [key, value] : helpers->items()) {
        if (NormalizeConfigKey(key) == want && value.is_string()) {
          creds.helper = value.get<std::string>();
          return creds;
        }
      }
    }
    if (auto auths = config.find("auths");
        auths != config.end() && auths->is_object()) {
      for (const auto& [key, entry] : auths->items()) {
        if (NormalizeConfigKey(key) != want || !entry.is_object()) continue;
        if (entry.contains("auth") && entry["auth"].is_string() &&
            !entry["auth"].get<std::string>().empty()) {
          Result<std::string> decoded =
              Base64Decode(entry["auth"].get<std::string>());
          const size_t colon =
              decoded.ok() ? decoded->find(':') : std::string::npos;
          if (colon == std::string::npos) {
            return InvalidArgumentError(
                "docker config " + config_path + ": auths[\"" + key +
                "\"].auth is not base64 of \"user:password\"");
          }
          creds.username = decoded->substr(0, colon);
          creds.password = decoded->substr(colon + 1);
        }
        if (entry.contains("username") && entry["username"].is_string()) {
          creds.username = entry["username"].get<std::string>();
        }
        if (entry.contains("password") && entry["password"].is_string()) {
          creds.password = entry["password"].get<std::string>();
        }
        if (entry.contains("identitytoken") &&
            entry["identitytoken"].is_string()) {
          creds.identity_token = entry["identitytoken"].get<std::string>();
        }
        if (!creds.empty()) return creds;
      }
    }
    if (auto store = config.find("credsStore");
        store != config.end() && store->is_string() &&
        !store->get<std::string>().empty()) {
      creds.helper = store->get<std::string>();
    }
  } catch (const nlohmann::json::parse_error& e) {
    // Not e.what(): it quotes the text last read, which may be a password.
    return InvalidArgumentError("docker config " + config_path +
                                ": invalid JSON at byte " +
                                std::to_string(e.byte));
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgumentError("docker config " + config_path + ": " +
                                e.what());
  }
  return creds;
}

}  // namespace kiln::solver::internal
