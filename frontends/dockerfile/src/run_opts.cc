// ParseRunOpts: the frontend opts that apply to every RUN (upstream dockerui
// parseExtraHosts, parseShmSize, parseUlimits, parseNetMode, hostname).
#include <arpa/inet.h>

#include <cctype>
#include <charconv>
#include <string>
#include <vector>

#include "kiln/dockerfile/convert.h"

namespace kiln::dockerfile {
namespace {

std::vector<std::string> SplitCsv(const std::string& value) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string::npos) comma = value.size();
    std::string field = value.substr(start, comma - start);
    while (!field.empty() &&
           std::isspace(static_cast<unsigned char>(field.back())))
      field.pop_back();
    size_t first = 0;
    while (first < field.size() &&
           std::isspace(static_cast<unsigned char>(field[first])))
      ++first;
    field.erase(0, first);
    if (!field.empty()) out.push_back(std::move(field));
    start = comma + 1;
  }
  return out;
}

bool ParseInt(std::string_view text, int64_t* out) {
  if (text.empty()) return false;
  auto [ptr, ec] =
      std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

Status Bad(const std::string& opt, const std::string& why) {
  return InvalidArgumentError("opt " + opt + ": " + why);
}

}  // namespace

Result<ConvertOptions::RunDefaults> ParseRunOpts(
    const std::map<std::string, std::string>& opts) {
  ConvertOptions::RunDefaults run;
  for (const char* unsupported : {"memory", "memswap", "cpushares", "cpuperiod",
                                  "cpuquota", "cpusetcpus", "cpusetmems"}) {
    if (opts.contains(unsupported)) {
      return UnimplementedError(
          std::string("opt ") + unsupported +
          ": per-RUN resource limits are not supported by kiln yet");
    }
  }
  if (opts.contains("attest:sbom") ||
      opts.contains("build-arg:BUILDKIT_ATTEST_SBOM")) {
    return UnimplementedError(
        "opt attest:sbom: SBOM attestations are not supported by kiln's "
        "Dockerfile frontend yet");
  }
  if (auto it = opts.find("add-hosts"); it != opts.end()) {
    for (const std::string& field : SplitCsv(it->second)) {
      size_t eq = field.find('=');
      if (eq == std::string::npos || eq == 0) {
        return Bad("add-hosts", "invalid key-value pair " + field);
      }
      std::string host = field.substr(0, eq);
      for (char& ch : host) ch = static_cast<char>(std::tolower(ch));
      std::string ip = field.substr(eq + 1);
      unsigned char buf[16];
      if (inet_pton(AF_INET, ip.c_str(), buf) != 1 &&
          inet_pton(AF_INET6, ip.c_str(), buf) != 1) {
        return Bad("add-hosts", "failed to parse IP " + ip);
      }
      run.extra_hosts.push_back(llb::HostIP{host, ip});
    }
  }
  if (auto it = opts.find("shm-size");
      it != opts.end() && !it->second.empty()) {
    int64_t size = 0;
    if (!ParseInt(it->second, &size) || size < 0) {
      return Bad("shm-size", "\"" + it->second + "\" is not a size in bytes");
    }
    run.shm_size = size;
  }
  if (auto it = opts.find("ulimit"); it != opts.end()) {
    for (const std::string& field : SplitCsv(it->second)) {
      size_t eq = field.find('=');
      if (eq == std::string::npos || eq == 0) {
        return Bad("ulimit", "invalid ulimit argument: " + field);
      }
      llb::Ulimit limit;
      limit.name = field.substr(0, eq);
      std::string values = field.substr(eq + 1);
      size_t colon = values.find(':');
      std::string soft = values.substr(0, colon);
      std::string hard =
          colon == std::string::npos ? soft : values.substr(colon + 1);
      if (!ParseInt(soft, &limit.soft) || !ParseInt(hard, &limit.hard)) {
        return Bad("ulimit", "invalid ulimit value: " + field);
      }
      if (limit.soft > limit.hard) {
        return Bad("ulimit",
                   "ulimit soft limit must be less than or equal to "
                   "hard limit: " +
                       field);
      }
      run.ulimits.push_back(std::move(limit));
    }
  }
  if (auto it = opts.find("force-network-mode"); it != opts.end()) {
    const std::string& mode = it->second;
    if (mode == "none") {
      run.network = llb::NetMode::kNone;
    } else if (mode == "host") {
      run.network = llb::NetMode::kHost;
    } else if (mode == "sandbox" || mode.empty()) {
      run.network = std::nullopt;  // the default
    } else {
      return Bad("force-network-mode", "invalid network mode \"" + mode +
                                           "\" (sandbox, host or none)");
    }
  }
  // build-arg:BUILDKIT_SANDBOX_HOSTNAME wins over opt hostname (upstream).
  if (auto it = opts.find("hostname");
      it != opts.end() && !it->second.empty()) {
    run.hostname = it->second;
  }
  if (auto it = opts.find("build-arg:BUILDKIT_SANDBOX_HOSTNAME");
      it != opts.end() && !it->second.empty()) {
    run.hostname = it->second;
  }
  if (auto it = opts.find("cgroup-parent");
      it != opts.end() && !it->second.empty()) {
    run.cgroup_parent = it->second;
  }
  return run;
}

}  // namespace kiln::dockerfile
