#include <cstdlib>

#include "remote.h"

namespace kiln::cli {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v == nullptr ? std::string() : std::string(v);
}

}  // namespace

RemoteOptions RemoteOptionsFromEnv() {
  RemoteOptions options;
  options.addr = Env("KILN_HOST");
  options.tls.ca = Env("KILN_TLS_CACERT");
  options.tls.cert = Env("KILN_TLS_CERT");
  options.tls.key = Env("KILN_TLS_KEY");
  return options;
}

bool TakeRemoteFlag(std::vector<std::string>& args, RemoteOptions& options,
                    std::string& error) {
  if (args.empty()) return false;
  static const struct {
    const char* name;
    std::string RemoteOptions::*plain;
    std::string control::TlsFiles::*tls;
  } kFlags[] = {{"--addr", &RemoteOptions::addr, nullptr},
                {"--tlscacert", nullptr, &control::TlsFiles::ca},
                {"--tlscert", nullptr, &control::TlsFiles::cert},
                {"--tlskey", nullptr, &control::TlsFiles::key}};
  for (const auto& flag : kFlags) {
    const std::string name = flag.name;
    std::string value;
    if (args[0] == name) {
      if (args.size() < 2) {
        error = "kiln: " + name + " needs a value";
        return true;
      }
      value = args[1];
      args.erase(args.begin(), args.begin() + 2);
    } else if (args[0].starts_with(name + "=")) {
      value = args[0].substr(name.size() + 1);
      args.erase(args.begin());
    } else {
      continue;
    }
    if (flag.plain != nullptr) {
      options.*flag.plain = value;
      options.addr_flag = true;
    } else {
      options.tls.*flag.tls = value;
    }
    return true;
  }
  return false;
}

}  // namespace kiln::cli
