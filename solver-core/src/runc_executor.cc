// RuncExecutor: bundle setup, the runtime process and its output, cancel.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <optional>

#include "fs_util.h"
#include "kiln/solver/executor.h"
#include "runc_mounts.h"

extern char** environ;

namespace kiln::solver {
namespace {

using internal::UniqueFd;
using Clock = std::chrono::steady_clock;

constexpr size_t kTailBytes = 16 * 1024;
constexpr int kTailLines = 20;
constexpr size_t kMaxArgsInError = 200;

bool IsExecutable(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         access(path.c_str(), X_OK) == 0;
}

std::string FindInPath(const std::string& name) {
  std::string path = getenv("PATH") ? getenv("PATH") : "";
  path += ":/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    start = end + 1;
    if (dir.empty()) continue;
    if (IsExecutable(dir + "/" + name)) return dir + "/" + name;
  }
  return "";
}

// Spawns argv with stdin from `in_fd` and stdout/stderr on `out_fd` and
// `err_fd` (-1: /dev/null). The pid, or an error.
Result<pid_t> Spawn(const std::vector<std::string>& argv, int out_fd,
                    int err_fd, int in_fd = -1) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  if (in_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, in_fd, 0);
  } else {
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  }
  if (out_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
  } else {
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  }
  if (err_fd >= 0) {
    posix_spawn_file_actions_adddup2(&fa, err_fd, 2);
  } else {
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  }
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t def;
  sigemptyset(&def);
  sigaddset(&def, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &def);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  std::vector<char*> cargv;
  for (const std::string& a : argv)
    cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, cargv[0], &fa, &attr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) return internal::ErrnoError("spawning", argv[0], rc);
  return pid;
}

// waitpid, retried on EINTR: the exit code (128 + signal), or -1.
int Wait(pid_t pid, int options, bool* done) {
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid, &status, options);
  } while (r < 0 && errno == EINTR);
  *done = r == pid;
  if (r != pid) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Runs a short runtime command (kill, delete) to completion, output dropped.
int RunQuiet(const std::vector<std::string>& argv) {
  auto pid = Spawn(argv, -1, -1);
  if (!pid.ok()) return -1;
  bool done = false;
  return Wait(*pid, 0, &done);
}

std::string JoinArgs(const std::vector<std::string>& args) {
  std::string out;
  for (const std::string& a : args) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  if (out.size() > kMaxArgsInError)
    out = out.substr(0, kMaxArgsInError) + "...";
  return out;
}

std::string LastLines(const std::string& tail) {
  std::string_view t = tail;
  while (!t.empty() && t.back() == '\n') t.remove_suffix(1);
  size_t pos = t.size();
  for (int i = 0; i < kTailLines && pos != std::string_view::npos && pos > 0;
       ++i) {
    pos = t.rfind('\n', pos - 1);
  }
  if (pos == std::string_view::npos)
    pos = 0;
  else if (pos > 0)
    ++pos;
  return std::string(t.substr(pos));
}

Status WriteSmallFile(const std::string& path, std::string_view data) {
  UniqueFd fd(
      open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return internal::ErrnoError("creating", path, errno);
  return internal::WriteFull(fd.get(), data, path);
}

Status Validate(const ExecSpec& spec) {
  if (spec.args.empty()) return InvalidArgumentError("exec: empty args");
  if (spec.rootfs.empty())
    return InvalidArgumentError("exec: no rootfs mounts");
  if (spec.cwd.empty() || spec.cwd[0] != '/') {
    return InvalidArgumentError("exec: cwd \"" + spec.cwd +
                                "\" is not absolute");
  }
  for (const ExecMount& m : spec.mounts) {
    if (m.dest.empty() || m.dest[0] != '/' || m.dest == "/") {
      return InvalidArgumentError("exec: mount dest \"" + m.dest +
                                  "\" is not an absolute path below /");
    }
  }
  return Status::Ok();
}

}  // namespace

RuncExecutor::RuncExecutor(std::string runtime, std::string state_dir)
    : runtime_(std::move(runtime)),
      state_dir_(std::move(state_dir)),
      runtime_root_(state_dir_ + "/runtime") {}

Result<std::unique_ptr<RuncExecutor>> RuncExecutor::Create(
    const RuncExecutorOptions& options) {
  if (geteuid() != 0) {
    return FailedPreconditionError("runc executor: needs root");
  }
  std::string runtime = options.runtime;
  if (runtime.empty()) {
    runtime = FindInPath("runc");
    if (runtime.empty()) runtime = FindInPath("crun");
    if (runtime.empty()) {
      return FailedPreconditionError(
          "runc executor: neither runc nor crun found in PATH");
    }
  } else if (runtime.find('/') == std::string::npos) {
    runtime = FindInPath(runtime);
  }
  if (runtime.empty() || !IsExecutable(runtime)) {
    return FailedPreconditionError("runc executor: runtime \"" +
                                   options.runtime + "\" is not executable");
  }
  if (options.state_dir.empty() || options.state_dir[0] != '/') {
    return InvalidArgumentError("runc executor: state dir must be absolute");
  }
  KILN_RETURN_IF_ERROR(
      internal::MakeDirs(options.state_dir + "/bundles", "executor bundles"));
  KILN_RETURN_IF_ERROR(internal::MakeDirs(options.state_dir + "/runtime",
                                          "executor runtime state"));
  std::unique_ptr<RuncExecutor> exec(
      new RuncExecutor(std::move(runtime), options.state_dir));
  KILN_RETURN_IF_ERROR(exec->CleanupStale());
  return exec;
}

Result<ExecResult> RuncExecutor::Run(const ExecSpec& spec,
                                     std::stop_token stop) {
  KILN_RETURN_IF_ERROR(Validate(spec));
  const std::string id = "kiln-" + internal::RandomNonce();
  const std::string bundle = state_dir_ + "/bundles/" + id;
  const std::string rootfs = bundle + "/rootfs";
  KILN_RETURN_IF_ERROR(internal::MakeDirs(rootfs, "bundle " + bundle));

  // Declared in this order so that destruction runs stubs → unmount →
  // bundle removal.
  struct BundleRemover {
    std::string path;
    ~BundleRemover() { internal::RemoveTree(path).IgnoreError(); }
  } remover{bundle};
  internal::MountStack mounts;
  std::optional<internal::MountStubs> stubs;
  struct StubRemover {
    std::optional<internal::MountStubs>* stubs;
    ~StubRemover() {
      if (stubs->has_value()) (*stubs)->RemoveAll().IgnoreError();
    }
  } stub_remover{&stubs};

  for (const Mount& m : spec.rootfs) {
    KILN_RETURN_IF_ERROR(mounts.Mount(m, rootfs).WithContext("exec rootfs"));
  }
  KILN_ASSIGN_OR_RETURN(ExecUser user, ResolveUser(rootfs, spec.user));

  const std::string hosts = bundle + "/hosts";
  const std::string resolv = bundle + "/resolv.conf";
  KILN_RETURN_IF_ERROR(
      WriteSmallFile(hosts, HostsFileContent(spec.hostname, spec.extra_hosts)));
  auto host_resolv = internal::ReadFile("/etc/resolv.conf");
  KILN_RETURN_IF_ERROR(WriteSmallFile(
      resolv,
      ResolvConfContent(host_resolv.ok() ? *host_resolv : "", spec.network)));

  KILN_ASSIGN_OR_RETURN(internal::MountStubs opened,
                        internal::MountStubs::Open(rootfs));
  stubs.emplace(std::move(opened));
  for (const char* dir : {"/proc", "/dev", "/sys"}) {
    KILN_RETURN_IF_ERROR(stubs->Ensure(dir, false));
  }
  KILN_RETURN_IF_ERROR(stubs->Ensure("/etc/hosts", true));
  KILN_RETURN_IF_ERROR(stubs->Ensure("/etc/resolv.conf", true));
  for (const ExecMount& m : spec.mounts) {
    struct stat st {};
    bool file = (m.mount.type == "bind") &&
                stat(m.mount.source.c_str(), &st) == 0 && !S_ISDIR(st.st_mode);
    KILN_RETURN_IF_ERROR(stubs->Ensure(m.dest, file));
  }

  KILN_ASSIGN_OR_RETURN(std::string config,
                        RuncConfigJson(spec, user, hosts, resolv));
  KILN_RETURN_IF_ERROR(WriteSmallFile(bundle + "/config.json", config));

  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    return internal::ErrnoError("creating pipe for", id, errno);
  }
  UniqueFd out_r(out_pipe[0]), out_w(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    return internal::ErrnoError("creating pipe for", id, errno);
  }
  UniqueFd err_r(err_pipe[0]), err_w(err_pipe[1]);

  // With stdio_fd, the runtime's stdin and stdout are that fd (runc copies
  // them through pipes into the container) and only stderr is read here.
  const bool stdio = spec.stdio_fd >= 0;
  const Clock::time_point start = Clock::now();
  KILN_ASSIGN_OR_RETURN(
      pid_t pid,
      Spawn({runtime_, "--root", runtime_root_, "run", "--bundle", bundle, id},
            stdio ? spec.stdio_fd : out_w.get(), err_w.get(),
            stdio ? spec.stdio_fd : -1));
  out_w = UniqueFd();
  err_w = UniqueFd();
  if (stdio) out_r = UniqueFd();
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));

  std::string tail;
  bool cancelled = false;
  Clock::time_point last_kill{};
  Clock::time_point first_kill{};
  pollfd fds[2] = {{stdio ? -1 : out_r.get(), POLLIN, 0},
                   {err_r.get(), POLLIN, 0}};
  int open_fds = stdio ? 1 : 2;
  bool exited = false;
  int exit_code = -1;
  Status poll_error;  // kills the container like a cancel
  Clock::time_point end{};
  while (open_fds > 0 || !exited) {
    if (stop.stop_requested() || !poll_error.ok()) {
      Clock::time_point now = Clock::now();
      if (!cancelled) first_kill = now;
      cancelled = true;
      if (now - last_kill > std::chrono::milliseconds(200)) {
        last_kill = now;
        RunQuiet({runtime_, "--root", runtime_root_, "kill", id, "KILL"});
        if (now - first_kill > std::chrono::seconds(10)) kill(pid, SIGKILL);
      }
    }
    if (!exited) {
      bool done = false;
      int code = Wait(pid, WNOHANG, &done);
      if (done) {
        exited = true;
        exit_code = code;
        end = Clock::now();
      }
    }
    if (open_fds == 0) {
      // Output is closed; wait for the exit itself without a sleep loop
      // (a pidfd is readable once the process has exited).
      if (!exited) {
        if (pidfd.valid()) {
          pollfd p = {pidfd.get(), POLLIN, 0};
          poll(&p, 1, 50);
        } else {
          usleep(1000);
        }
      }
      continue;
    }
    int n = poll(fds, 2, exited ? 200 : 50);
    if (n < 0 && errno != EINTR && poll_error.ok()) {
      poll_error = internal::ErrnoError("polling output of", id, errno);
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) {
        continue;
      }
      char buf[65536];
      ssize_t r = read(fds[i].fd, buf, sizeof(buf));
      if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (r <= 0) {
        fds[i].fd = -1;
        --open_fds;
        continue;
      }
      std::string_view data(buf, static_cast<size_t>(r));
      if (spec.log) spec.log(i + 1, data, std::chrono::system_clock::now());
      tail.append(data);
      if (tail.size() > 2 * kTailBytes) tail.erase(0, tail.size() - kTailBytes);
    }
  }
  if (cancelled) {
    RunQuiet({runtime_, "--root", runtime_root_, "delete", "--force", id});
    if (!poll_error.ok()) return poll_error;
    return CancelledError("process \"" + JoinArgs(spec.args) + "\" cancelled");
  }
  ExecResult result{
      exit_code,
      std::chrono::duration_cast<std::chrono::nanoseconds>(end - start)};
  bool valid = spec.valid_exit_codes.empty()
                   ? exit_code == 0
                   : std::find(spec.valid_exit_codes.begin(),
                               spec.valid_exit_codes.end(),
                               exit_code) != spec.valid_exit_codes.end();
  if (valid) return result;
  std::string msg = "process \"" + JoinArgs(spec.args) +
                    "\" did not complete successfully: exit code: " +
                    std::to_string(exit_code);
  std::string last = LastLines(tail);
  if (!last.empty()) msg += "\noutput (last lines):\n" + last;
  return UnknownError(msg);
}

}  // namespace kiln::solver
