// Executors run one process in a container built from snapshot mounts: the
// seam ExecOp uses (Executor), and its implementation on an OCI runtime CLI
// (RuncExecutor: runc, or crun when asked for).
//
// What a run looks like (RuncExecutor):
//  1. A bundle directory <state_dir>/bundles/<id> is made, and the rootfs
//     mounts (Snapshotter::Mounts / View) are mounted with mount(2) onto
//     <bundle>/rootfs, in order.
//  2. The user string is resolved against the mounted rootfs (user_lookup.h).
//  3. Mount stubs: every mountpoint the container needs that is missing from
//     the rootfs (/proc, /dev, /sys, /etc/hosts, /etc/resolv.conf and each
//     extra mount's dest, with missing parents) is created by the executor
//     before the run: directories 0755, and an empty 0644 file for a file
//     bind (/etc/hosts, /etc/resolv.conf, a bind whose source is a file).
//     After the run — and only those — each is removed again, deepest
//     first, when it is still an empty directory or an empty regular file
//     (BuildKit's removeMountStubsRecursive): a stub the process filled is
//     kept. The rootfs keeps no trace of the executor otherwise. Paths are
//     resolved inside the rootfs (symlinks never lead out). When the rootfs
//     mount is read-only (a View), missing mountpoints cannot be created and
//     the runtime reports the failure.
//  4. config.json is generated (see RuncConfigJson) with /etc/hosts and
//     /etc/resolv.conf bind-mounted from files generated in the bundle, and
//     `<runtime> --root <state_dir>/runtime run --bundle B <id>` runs with
//     stdin from /dev/null and stdout/stderr on pipes read concurrently (the
//     log sink sees every chunk as it comes; any output size is fine), or
//     with ExecSpec::stdio_fd as stdin and stdout (stderr alone on a pipe).
//  5. Everything is undone by RAII, also on failure: stubs removed, rootfs
//     unmounted (reverse order; lazily if busy), bundle removed.
//
// Engine death: a run's runtime process is a plain child of the engine. When
// the engine is killed (kill -9, OOM), nothing stops the container: runc
// run does not kill its container when its parent dies, and even a
// PR_SET_PDEATHSIG=SIGKILL on runc itself would only kill runc — the
// container's init would be reparented and keep running, with the bundle's
// rootfs mounts still in place. So RuncExecutor::Create runs CleanupStale():
// only one engine uses a state dir at a time (the snapshotter root lock
// guarantees one process per $KILN_ROOT), so whatever a previous engine left
// there is stale and is killed, unmounted and removed.
//
// Network: kNone gives a fresh network namespace with only `lo` (up); kHost
// shares the host's. There is no CNI, so LLB's sandbox mode maps to kNone.
//
// Cgroups: the runtime's defaults (a cgroup named after the container under
// each hierarchy; v1/hybrid as the host has it). No resource limits are set;
// ulimits become OCI rlimits.
//
// Thread safety: Run may be called concurrently from many threads (each run
// has its own id, bundle and pipes). The executor must outlive its runs.
#ifndef KILN_SOLVER_EXECUTOR_H_
#define KILN_SOLVER_EXECUTOR_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"
#include "kiln/solver/snapshotter.h"
#include "kiln/solver/user_lookup.h"

namespace kiln::solver {

enum class NetworkMode { kNone, kHost };

struct HostEntry {
  std::string host;
  std::string ip;
};

// An rlimit: name as in LLB ("nofile", "nproc", "core", ...; "RLIMIT_" is
// added and the name upper-cased).
struct Ulimit {
  std::string name;
  int64_t soft = 0;
  int64_t hard = 0;
};

// A mount on top of the rootfs. `mount` is a snapshotter mount ("bind" with
// "rbind"/"ro" options, or "overlay"), or a tmpfs made by TmpfsMount().
struct ExecMount {
  std::string dest;  // absolute path inside the container
  Mount mount;
  bool readonly = false;  // adds "ro" to the mount's options
};

// A tmpfs mount spec of at most `size_bytes` (0: the kernel default, half
// of RAM).
Mount TmpfsMount(int64_t size_bytes);

// Receives process output: stream 1 (stdout) or 2 (stderr), the bytes read,
// and when they were read. Called from the Run thread, in order per stream.
using LogSink = std::function<void(int stream, std::string_view data,
                                   std::chrono::system_clock::time_point)>;

struct ExecSpec {
  std::vector<Mount> rootfs;  // mounted in order onto the rootfs
  bool readonly_rootfs = false;
  std::vector<std::string> args;  // argv, non-empty; args[0] looked up in PATH
  std::vector<std::string> env;   // KEY=value; PATH added when missing
  std::string cwd = "/";          // absolute
  std::string user;  // "uid", "uid:gid", "name", "name:group"; "" = root
  std::string hostname = "buildkitsandbox";
  NetworkMode network = NetworkMode::kNone;
  std::vector<HostEntry> extra_hosts;  // appended to /etc/hosts
  std::vector<Ulimit> ulimits;
  std::vector<ExecMount> mounts;      // mounted parent-first (sorted by dest)
  std::vector<int> valid_exit_codes;  // empty: only 0 is success
  LogSink log;                        // may be empty
  // -1: stdin is /dev/null and the sink sees stdout and stderr. Otherwise
  // an open descriptor (borrowed; the caller closes it after Run) that the
  // runtime process gets as its stdin AND its stdout — e.g. one end of a
  // socketpair, the gateway transport of a frontend. runc (foreground, no
  // terminal) copies both directions through pipes into the container, so
  // the process sees two pipes, not the descriptor itself. The log sink
  // and the error's output tail then see stderr only.
  int stdio_fd = -1;
  // With a stdio_fd that is a terminal: the process gets a terminal
  // (config.json's process.terminal). runc, run in the foreground, then
  // makes a pseudo-terminal for the container, puts stdio_fd in raw mode
  // and copies between the two; stdout and stderr both go to it. `kiln run
  // -it` uses it; builds never do.
  bool terminal = false;
};

struct ExecResult {
  int exit_code = 0;  // 128 + signal when the process was killed
  std::chrono::nanoseconds duration{0};  // runtime start to exit
};

class Executor {
 public:
  virtual ~Executor() = default;

  // Runs `spec` to completion, or until `stop` is requested: then the
  // container is killed and deleted, and the result is Cancelled.
  // Errors: InvalidArgument for a bad spec (empty args, relative cwd or
  // dest, no rootfs, unknown ulimit); the user lookup's errors; Unknown
  // "process \"ARGS\" did not complete successfully: exit code: N", then
  // "\noutput (last lines):\n" and the last 20 lines of stdout+stderr
  // (interleaved as read), when the exit code is not valid (ARGS joined by
  // spaces, cut at 200 bytes); Cancelled when stopped; Internal for mount,
  // bundle or spawn failures. A runtime failure (bad config, missing binary
  // in the rootfs) is a non-zero exit with the runtime's message in the
  // output. Everything the run mounted or created is undone before it
  // returns, whatever the outcome.
  virtual Result<ExecResult> Run(const ExecSpec& spec,
                                 std::stop_token stop) = 0;
};

struct RuncExecutorOptions {
  // Bundles and the runtime's state (--root) live here; created if missing.
  std::string state_dir;
  // The runtime binary: a path, or "" to pick one. "" prefers runc from PATH
  // and falls back to crun (crun 1.8 fails on hybrid cgroup hosts, so runc
  // is the default).
  std::string runtime;
};

class RuncExecutor final : public Executor {
 public:
  // Errors: FailedPrecondition when no runtime is found or we are not root;
  // Internal when state_dir cannot be created or CleanupStale() fails.
  // Calls CleanupStale(): the caller must be the only user of state_dir.
  static Result<std::unique_ptr<RuncExecutor>> Create(
      const RuncExecutorOptions& options);

  // Removes what an engine that died during runs left in the state dir:
  // every container in the runtime root (`<runtime> --root R list -q`, then
  // `kill <id> KILL` and `delete --force <id>`), every mount still under
  // <state_dir>/bundles (from /proc/self/mountinfo, deepest first,
  // umount2 MNT_DETACH), then every bundle. Must not run while this
  // executor has runs in flight. Internal when a mount cannot be removed
  // (the bundles are then left alone: removing them could delete through a
  // bind mount) or a bundle cannot be deleted; a failing runtime command is
  // ignored.
  Status CleanupStale();

  Result<ExecResult> Run(const ExecSpec& spec, std::stop_token stop) override;

  // The runtime binary in use and its --root directory.
  const std::string& runtime() const { return runtime_; }
  const std::string& runtime_root() const { return runtime_root_; }

 private:
  RuncExecutor(std::string runtime, std::string state_dir);

  std::string runtime_;
  std::string state_dir_;
  std::string runtime_root_;
};

// The OCI config.json RuncExecutor writes for `spec` run as `user`, with
// root.path "rootfs" and the generated hosts/resolv.conf files bound from
// `hosts_path` and `resolv_path`. Extra mounts are sorted by dest; bind
// mounts get "rbind" unless they already say "bind"/"rbind".
// InvalidArgument for an unknown ulimit name.
Result<std::string> RuncConfigJson(const ExecSpec& spec, const ExecUser& user,
                                   const std::string& hosts_path,
                                   const std::string& resolv_path);

// The /etc/hosts content: localhost lines naming `hostname`, then one
// "IP\tHOST" line per extra host.
std::string HostsFileContent(const std::string& hostname,
                             const std::vector<HostEntry>& extra_hosts);

// /etc/resolv.conf for the container from the host's (`host_resolv`):
// loopback nameservers dropped (unreachable from a netns); when none is
// left, Google's public ones, as BuildKit does. Host network keeps all.
std::string ResolvConfContent(std::string_view host_resolv,
                              NetworkMode network);

}  // namespace kiln::solver

#endif  // KILN_SOLVER_EXECUTOR_H_
