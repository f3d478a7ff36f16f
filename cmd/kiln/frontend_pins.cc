#include "frontend_pins.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "state_root.h"

namespace kiln::cli {

std::string FrontendPinsPath(const std::string& root_dir) {
  return root_dir + "/frontend-pins.toml";
}

Result<std::map<std::string, std::string>> LoadFrontendPins(
    const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (errno == ENOENT) return std::map<std::string, std::string>{};
    return InternalError("reading " + path + ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  KILN_ASSIGN_OR_RETURN(gateway::FrontendPolicy policy,
                        gateway::ParseFrontendPolicy(text.str(), path));
  return policy.pins;
}

Status SaveFrontendPins(const std::string& path,
                        const std::map<std::string, std::string>& pins) {
  std::string text =
      "# Frontend pins recorded by `kiln frontend pin` (see "
      "docs/frontends.md).\n"
      "# Edit with kiln frontend pin / unpin; the operator config's own\n"
      "# [frontend.pin] table may not contradict these.\n"
      "[frontend.pin]\n";
  for (const auto& [ref, digest] : pins) {
    // References and digests never hold quotes or backslashes.
    if (ref.find_first_of("\"\\\n") != std::string::npos ||
        digest.find_first_of("\"\\\n") != std::string::npos) {
      return InvalidArgumentError("frontend pin \"" + ref +
                                  "\" cannot be written");
    }
    text.append("\"").append(ref).append("\" = \"").append(digest).append(
        "\"\n");
  }
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    return InternalError("writing " + tmp + ": " + std::strerror(errno));
  }
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      return InternalError("writing " + tmp + ": " + std::strerror(err));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return InternalError("writing " + tmp + ": " + std::strerror(errno));
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return InternalError("renaming " + tmp + ": " + std::strerror(err));
  }
  return Status::Ok();
}

Result<gateway::FrontendPolicy> LoadOperatorPolicy(
    const std::string& root_dir) {
  return LoadOperatorPolicy(root_dir, ConfigPath());
}

Result<gateway::FrontendPolicy> LoadOperatorPolicy(const std::string& root_dir,
                                                   const std::string& config) {
  gateway::FrontendPolicy policy = gateway::FrontendPolicy::Default();
  if (!config.empty()) {
    KILN_ASSIGN_OR_RETURN(policy, gateway::LoadFrontendPolicy(config));
  }
  const std::string pins_path = FrontendPinsPath(root_dir);
  KILN_ASSIGN_OR_RETURN(auto pins, LoadFrontendPins(pins_path));
  for (const auto& [ref, digest] : pins) {
    auto [it, inserted] = policy.pins.emplace(ref, digest);
    if (!inserted && it->second != digest) {
      return FailedPreconditionError(
          "frontend image " + ref + " is pinned to " + it->second + " in " +
          config + " but to " + digest + " in " + pins_path +
          " (kiln frontend unpin " + ref + " or fix the config)");
    }
  }
  return policy;
}

}  // namespace kiln::cli
