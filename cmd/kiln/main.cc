// kiln: the command-line interface.
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "build_flags.h"
#include "cache_usage.h"
#include "cli_util.h"
#include "commands.h"
#include "remote.h"
#include "state_root.h"

namespace kiln::cli {
namespace {

constexpr std::string_view kUsage =
    R"(Usage: kiln [--version] [--help] [--root DIR] COMMAND [ARGS...]

kiln is a container image build engine that speaks BuildKit's LLB.

Commands:
  build             Build a Dockerfile (kiln build -t NAME DIR), a frontend's
                    source or an LLB Definition, and export the result
  run               Run a command in a container made from a stored image
  image             Manage images: ls, inspect, tag, rm, import, pull, push, save, load
  du                Show the disk usage of the build cache
  prune             Remove build cache
  frontend          Frontend images and their policy: ls, pin, unpin
  debug             Look inside: debug dump-llb (an LLB Definition's ops),
                    debug workers (the engine's worker), debug info

Global options:
  --root DIR        State directory (default: $KILN_ROOT, else /var/lib/kiln as
                    root, else $XDG_DATA_HOME/kiln or ~/.local/share/kiln)
  --addr ADDR       Build with kilnd at ADDR (unix:///PATH or tcp://HOST:PORT)
                    instead of the embedded engine (default: $KILN_HOST)
  --tlscacert FILE, --tlscert FILE, --tlskey FILE
                    Mutual TLS for a tcp:// address (default:
                    $KILN_TLS_CACERT, $KILN_TLS_CERT, $KILN_TLS_KEY)

Run 'kiln COMMAND --help' for more about a command.

Exit codes:
  0    success
  1    the command failed: a build step failed, an export failed, a
       'build --call check' found warnings (the reason is on stderr)
  2    the command line was wrong (unknown command or flag, bad value)
  130  a build or run was cancelled (Ctrl-C / SIGINT, SIGTERM, SIGHUP)
  'kiln run' otherwise exits with the container command's exit code.
)";

int Main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string root_dir = DefaultRootDir();
  RemoteOptions remote = RemoteOptionsFromEnv();
  for (std::string error; !args.empty();) {
    if (TakeRemoteFlag(args, remote, error)) {
      if (error.empty()) continue;
      std::fprintf(stderr, "%s\n", error.c_str());
      return kExitUsage;
    }
    if (args[0] != "--root" && args[0].rfind("--root=", 0) != 0) break;
    if (args[0] == "--root") {
      if (args.size() < 2) {
        std::fputs("kiln: --root needs a directory\n", stderr);
        return kExitUsage;
      }
      root_dir = args[1];
      args.erase(args.begin(), args.begin() + 2);
    } else {
      root_dir = args[0].substr(7);
      args.erase(args.begin());
    }
  }
  if (args.empty() || args[0] == "--help" || args[0] == "-h" ||
      args[0] == "help") {
    std::fputs(kUsage.data(), args.empty() ? stderr : stdout);
    return args.empty() ? kExitUsage : kExitOk;
  }
  if (args[0] == "--version" || args[0] == "version") {
    std::printf("kiln %s\n", kKilnVersion.data());
    return kExitOk;
  }
  if (args[0] == "debug") {
    Root root(root_dir);
    return RunDebug(root,
                    std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (args[0] == "run") {
    Root root(root_dir);
    return RunRun(root, std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if ((args[0] == "du" || args[0] == "prune") && !remote.addr.empty()) {
    auto cache = RemoteCacheUsage(remote);
    if (!cache.ok()) return Fail("kiln " + args[0], cache.status());
    std::vector<std::string> rest(args.begin() + 1, args.end());
    return args[0] == "du" ? RunDu(**cache, rest) : RunPrune(**cache, rest);
  }
  if (args[0] == "build" && !remote.addr.empty()) {
    return RunRemoteBuild(
        remote, std::vector<std::string>(args.begin() + 1, args.end()));
  }
  // KILN_HOST selects the daemon for builds; an explicit --addr for a
  // command that only works locally is a mistake worth saying.
  if (remote.addr_flag && args[0] != "debug") {
    std::fprintf(stderr,
                 "kiln %s: works on the local state root only; --addr is not "
                 "supported for it\n",
                 args[0].c_str());
    return kExitUsage;
  }
  if (args[0] == "build") {
    Root root(root_dir);
    return RunBuild(root,
                    std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (args[0] == "frontend") {
    Root root(root_dir);
    return RunFrontend(root,
                       std::vector<std::string>(args.begin() + 1, args.end()));
  }
  if (args[0] == "du" || args[0] == "prune") {
    Root root(root_dir);
    std::unique_ptr<CacheUsage> cache = LocalCacheUsage(root);
    std::vector<std::string> rest(args.begin() + 1, args.end());
    return args[0] == "du" ? RunDu(*cache, rest) : RunPrune(*cache, rest);
  }
  if (args[0] == "image" || args[0] == "images") {
    Root root(root_dir);
    return RunImage(root,
                    std::vector<std::string>(args.begin() + 1, args.end()));
  }
  std::fprintf(stderr, "kiln: unknown command %s\n\n%s", args[0].c_str(),
               kUsage.data());
  return kExitUsage;
}

}  // namespace
}  // namespace kiln::cli

int main(int argc, char** argv) { return kiln::cli::Main(argc, argv); }
