// kilnd: the kiln build daemon (docs/daemon.md).
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "flags.h"
#include "kilnd/daemon.h"
#include "kilnd/daemon_config.h"
#include "state_root.h"

namespace kiln::kilnd {
namespace {

constexpr char kUsage[] = R"(Usage: kilnd [OPTIONS]

kilnd serves kiln's build engine over BuildKit's Control gRPC API, for
`kiln --addr ADDR build …` and other BuildKit clients.

Options:
  --addr ADDR         Address to serve on, repeatable: unix:///PATH or
                      tcp://HOST:PORT (default unix:///run/kiln/kilnd.sock)
  --root DIR          State directory (as kiln's --root; default $KILN_ROOT,
                      else /var/lib/kiln as root)
  --config FILE       Operator config (kiln.toml; default $KILN_CONFIG, else
                      /etc/kiln/kiln.toml when it exists)
  --group GID         Group allowed to use the unix sockets (numeric)
  --tlscert FILE      Server certificate for tcp addresses (mutual TLS)
  --tlskey FILE       Its key
  --tlscacert FILE    CA that client certificates must be signed by
  --allow-insecure-entitlement NAME
                      Let clients ask for network.host or security.insecure
                      (repeatable)
  --shutdown-grace D  How long SIGTERM/SIGINT waits for running builds
                      before cancelling them (e.g. 30s, 2m; default 30s)
  --version           Print the version
  -h, --help          Show this help

Flags override the config file. Exit codes: 0 after a clean shutdown,
1 when the daemon cannot start, 2 for a wrong command line.
)";

int Usage(const std::string& error) {
  std::fprintf(stderr, "kilnd: %s\n\n%s", error.c_str(), kUsage);
  return 2;
}

int Main(int argc, char** argv) {
  cli::Flags flags;
  flags.Value("addr")
      .Value("root")
      .Value("config")
      .Value("group")
      .Value("tlscert")
      .Value("tlskey")
      .Value("tlscacert")
      .Value("allow-insecure-entitlement")
      .Value("shutdown-grace")
      .Bool("version");
  if (!flags.Parse(std::vector<std::string>(argv + 1, argv + argc))) {
    return Usage(flags.error());
  }
  if (flags.help()) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (flags.Has("version")) {
    std::printf("kilnd %s\n", KILN_VERSION);
    return 0;
  }
  if (!flags.positional().empty()) {
    return Usage("unexpected argument " + flags.positional().front());
  }
  DaemonConfig config;
  std::string config_path = flags.GetOr("config", cli::ConfigPath());
  if (!config_path.empty()) {
    if (Status s = LoadDaemonConfig(config_path, config); !s.ok()) {
      std::fprintf(stderr, "kilnd: %s\n", s.message().c_str());
      return 1;
    }
  }
  if (auto root = flags.Get("root")) config.root = *root;
  if (flags.Has("addr")) config.addresses = flags.All("addr");
  for (const std::string& a : config.addresses) {
    if (auto parsed = control::ParseAddress(a); !parsed.ok()) {
      return Usage("--addr: " + parsed.status().message());
    }
  }
  if (auto group = flags.Get("group")) {
    char* end = nullptr;
    long gid = std::strtol(group->c_str(), &end, 10);
    if (group->empty() || *end != '\0' || gid < 0) {
      return Usage("--group \"" + *group + "\": expected a numeric gid");
    }
    config.socket_gid = static_cast<gid_t>(gid);
  }
  if (auto v = flags.Get("tlscert")) config.tls.cert = *v;
  if (auto v = flags.Get("tlskey")) config.tls.key = *v;
  if (auto v = flags.Get("tlscacert")) config.tls.ca = *v;
  for (const std::string& e : flags.All("allow-insecure-entitlement")) {
    if (!IsKnownEntitlement(e)) {
      return Usage("--allow-insecure-entitlement \"" + e +
                   "\": known: network.host, security.insecure");
    }
    config.insecure_entitlements.insert(e);
  }
  if (auto grace = flags.Get("shutdown-grace")) {
    auto d = ParseDuration(*grace);
    if (!d.ok()) return Usage("--shutdown-grace: " + d.status().message());
    config.shutdown_grace = *d;
  }

  // Signals are taken by sigwait below: block them before any thread starts
  // (threads inherit the mask).
  signal(SIGPIPE, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);

  auto daemon = Daemon::Start(std::move(config));
  if (!daemon.ok()) {
    std::fprintf(stderr, "kilnd: %s\n", daemon.status().ToString().c_str());
    return 1;
  }
  for (const std::string& a : (*daemon)->addresses()) {
    std::fprintf(stderr, "kilnd: listening on %s\n", a.c_str());
  }
  std::fflush(stderr);
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  std::fprintf(stderr, "kilnd: %s: shutting down\n",
               sig == SIGINT ? "SIGINT" : "SIGTERM");
  int cancelled = (*daemon)->Shutdown();
  daemon->reset();
  std::fprintf(stderr, "kilnd: stopped (%d build(s) cancelled)\n", cancelled);
  return 0;
}

}  // namespace
}  // namespace kiln::kilnd

int main(int argc, char** argv) { return kiln::kilnd::Main(argc, argv); }
