// --secret / --ssh parsing and the map-backed providers
// (secret_providers.h).
#include "kiln/solver/secret_providers.h"

#include <sys/stat.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>

#include "fs_util.h"

namespace kiln::solver {
namespace {

// Splits a CSV record: commas separate fields; a double-quoted part may
// hold commas, and "" inside quotes is a quote.
Result<std::vector<std::string>> SplitCsv(std::string_view s) {
  std::vector<std::string> fields(1);
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '"' && i + 1 < s.size() && s[i + 1] == '"') {
        fields.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        fields.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  if (quoted) {
    return InvalidArgumentError("unterminated quote in \"" + std::string(s) +
                                "\"");
  }
  return fields;
}

std::string Lower(std::string s) {
  for (char& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

Result<SecretSource> ParseSecretSpec(std::string_view spec) {
  auto fields = SplitCsv(spec);
  if (!fields.ok()) return fields.status().WithContext("parsing secret");
  SecretSource out;
  std::string type;
  for (const std::string& field : *fields) {
    size_t eq = field.find('=');
    if (eq == std::string::npos) {
      return InvalidArgumentError("parsing secret: invalid field \"" + field +
                                  "\": must be a key=value pair");
    }
    std::string key = Lower(field.substr(0, eq));
    std::string value = field.substr(eq + 1);
    if (key == "type") {
      if (value != "file" && value != "env") {
        return InvalidArgumentError("parsing secret: unsupported type \"" +
                                    value + "\"");
      }
      type = value;
    } else if (key == "id") {
      out.id = value;
    } else if (key == "src" || key == "source") {
      out.file = value;
    } else if (key == "env") {
      out.env = value;
    } else {
      return InvalidArgumentError("parsing secret: unexpected key \"" + key +
                                  "\" in \"" + field + "\"");
    }
  }
  if (type == "env" && out.env.empty()) {
    out.env = out.file.empty() ? out.id : out.file;
    out.file.clear();
  }
  if (out.id.empty()) {
    return InvalidArgumentError("parsing secret \"" + std::string(spec) +
                                "\": missing id");
  }
  return out;
}

Result<SshSource> ParseSshSpec(std::string_view spec) {
  SshSource out;
  size_t eq = spec.find('=');
  out.id = std::string(spec.substr(0, eq));
  if (out.id.empty()) {
    return InvalidArgumentError("parsing ssh \"" + std::string(spec) +
                                "\": missing id");
  }
  if (eq != std::string_view::npos) {
    std::string_view rest = spec.substr(eq + 1);
    size_t start = 0;
    for (;;) {
      size_t comma = rest.find(',', start);
      std::string_view path = rest.substr(start, comma - start);
      if (path.empty()) {
        return InvalidArgumentError("parsing ssh \"" + std::string(spec) +
                                    "\": empty path");
      }
      out.paths.emplace_back(path);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

Status MapSecretProvider::Add(SecretSource source) {
  if (source.id.empty()) return InvalidArgumentError("secret: empty id");
  if (!source.file.empty() && !source.env.empty()) {
    return InvalidArgumentError("secret \"" + source.id +
                                "\": both a file and an env var given");
  }
  std::lock_guard<std::mutex> lock(mu_);
  std::string id = source.id;
  sources_[id] = std::move(source);
  return Status::Ok();
}

Result<std::string> MapSecretProvider::GetSecret(std::string_view id) {
  SecretSource source;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = sources_.find(id);
    if (it == sources_.end()) {
      return NotFoundError("secret \"" + std::string(id) + "\" not found");
    }
    source = it->second;
  }
  if (source.file.empty() && source.env.empty()) {
    if (std::getenv(source.id.c_str()) != nullptr) {
      source.env = source.id;
    } else {
      source.file = source.id;
    }
  }
  std::string data;
  if (!source.env.empty()) {
    const char* value = std::getenv(source.env.c_str());
    if (value == nullptr) {
      return NotFoundError("secret \"" + source.id + "\": env var " +
                           source.env + " is not set");
    }
    data = value;
  } else {
    struct stat st {};
    if (stat(source.file.c_str(), &st) == 0 &&
        static_cast<size_t>(st.st_size) > kMaxSecretSize) {
      return InvalidArgumentError("secret \"" + source.id +
                                  "\" is too big: max 500KB");
    }
    auto read = internal::ReadFile(source.file);
    if (!read.ok()) {
      return read.status().WithContext("secret \"" + source.id + "\"");
    }
    data = std::move(*read);
  }
  if (data.size() > kMaxSecretSize) {
    return InvalidArgumentError("secret \"" + source.id +
                                "\" is too big: max 500KB");
  }
  return data;
}

Status MapSshProvider::Add(const SshSource& source) {
  if (source.id.empty()) return InvalidArgumentError("ssh: empty id");
  std::string socket;
  if (source.paths.empty()) {
    const char* env = std::getenv("SSH_AUTH_SOCK");
    if (env == nullptr || *env == '\0') {
      return FailedPreconditionError(
          "ssh \"" + source.id +
          "\": no agent socket given and $SSH_AUTH_SOCK is not set");
    }
    socket = env;
  } else if (source.paths.size() > 1) {
    return UnimplementedError("ssh \"" + source.id +
                              "\": several paths (private key files) are not "
                              "supported; give one agent socket");
  } else {
    socket = source.paths[0];
  }
  struct stat st {};
  if (stat(socket.c_str(), &st) != 0) {
    return internal::ErrnoStatus(
        "ssh \"" + source.id + "\": agent socket " + socket, errno);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return UnimplementedError("ssh \"" + source.id + "\": " + socket +
                              " is not a socket; private key files are not "
                              "supported, give an agent socket");
  }
  std::lock_guard<std::mutex> lock(mu_);
  sockets_[source.id] = socket;
  return Status::Ok();
}

Result<std::string> MapSshProvider::AgentSocket(std::string_view id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sockets_.find(id);
  if (it == sockets_.end()) {
    return NotFoundError("ssh agent \"" + std::string(id) + "\" not found");
  }
  return it->second;
}

}  // namespace kiln::solver
