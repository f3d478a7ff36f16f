#include "run_flags.h"

#include <cstdlib>

#include "flags.h"

namespace kiln::cli {
namespace {

constexpr std::string_view kRunUsage =
    R"(Usage: kiln run [OPTIONS] IMAGE [COMMAND [ARG...]]

Runs a command in a new container made from IMAGE, an image of kiln's
embedded store (kiln image ls), with the OCI runtime that builds use (runc;
needs root). The image config's Entrypoint, Cmd, Env, WorkingDir and User
are honoured; COMMAND replaces Cmd. The container's root filesystem is a
throwaway layer on the image: what the command writes is discarded, and the
container is removed when it exits.

Options:
  --rm                  Remove the container when it exits (always done:
                        kiln keeps no containers)
  -i, --interactive     Attach stdin (otherwise it is /dev/null)
  -t, --tty             Give the container a terminal, relayed to ours
                        (stdin must be a terminal; implies -i)
  -e, --env KEY=VALUE   Set an environment variable (repeatable); KEY alone
                        takes $KEY
  -w, --workdir DIR     Working directory (absolute) inside the container
  -u, --user USER       USER[:GROUP] or UID[:GID] to run as
  --network MODE        none (default: only loopback; kiln has no bridge
                        network) or host

Exit codes: the command's exit code (128 + N when killed by signal N);
1 when kiln itself failed (no such image, no runtime); 2 the command line
was wrong; 130 when interrupted (SIGINT/SIGTERM/SIGHUP stop the container).
)";

}  // namespace

std::string_view RunUsage() { return kRunUsage; }

RunFlagsResult ParseRunFlags(const std::vector<std::string>& args) {
  Flags parser;
  parser.Bool("rm")
      .Bool("interactive", 'i')
      .Bool("tty", 't')
      .Value("env", 'e')
      .Value("workdir", 'w')
      .Value("user", 'u')
      .Value("network");
  static const char* const kValueFlags[] = {"--env",  "-e", "--workdir", "-w",
                                            "--user", "-u", "--network"};
  // The flags end at IMAGE: split there, expanding "-it" into "-i -t".
  std::vector<std::string> flag_args;
  RunFlagsResult result;
  RunFlags& f = result.flags;
  size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--") {
      ++i;
      break;
    }
    if (a.size() < 2 || a[0] != '-') break;
    if (a[1] != '-' && a.size() > 2) {
      for (char c : a.substr(1)) flag_args.push_back(std::string("-") + c);
      continue;
    }
    flag_args.push_back(a);
    for (const char* v : kValueFlags) {
      if (a == v && i + 1 < args.size()) flag_args.push_back(args[++i]);
    }
  }
  if (!parser.Parse(flag_args)) {
    result.error = parser.error();
    return result;
  }
  if (parser.help()) {
    f.help = true;
    return result;
  }
  if (i >= args.size()) {
    result.error = "missing IMAGE";
    return result;
  }
  f.image = args[i];
  f.command.assign(args.begin() + static_cast<long>(i) + 1, args.end());
  f.rm = parser.Has("rm");
  f.interactive = parser.Has("interactive");
  f.tty = parser.Has("tty");
  for (const std::string& kv : parser.All("env")) {
    size_t eq = kv.find('=');
    if (kv.empty() || eq == 0) {
      result.error = "--env \"" + kv + "\": want KEY=VALUE";
      return result;
    }
    if (eq != std::string::npos) {
      f.env.push_back(kv);
    } else if (const char* v = std::getenv(kv.c_str())) {
      f.env.push_back(kv + "=" + v);
    }
  }
  f.workdir = parser.GetOr("workdir", "");
  if (!f.workdir.empty() && f.workdir[0] != '/') {
    result.error = "--workdir \"" + f.workdir + "\": want an absolute path";
    return result;
  }
  f.user = parser.GetOr("user", "");
  f.network = parser.GetOr("network", "none");
  if (f.network != "none" && f.network != "host") {
    result.error = "--network \"" + f.network + "\": want none or host";
    return result;
  }
  return result;
}

}  // namespace kiln::cli
