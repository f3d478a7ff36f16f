// FrontendRunner: one frontend process against its BridgeServer — the
// socketpair transport (one grpc::Server per run), stderr into the progress
// log of the frontend's vertex, the idle watchdog, cancellation and the
// outcome rules (frontend_runner.h steps 4-6). The process is a container
// (Executor, stdio_fd) or a host binary (posix_spawn).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>

#include "frontend_runner_internal.h"
#include "kiln/gateway/serve_fd.h"

namespace kiln::gateway::internal {
namespace {

using Clock = std::chrono::steady_clock;

constexpr size_t kTailBytes = 8 * 1024;
constexpr int kTailLines = 20;

Status ErrnoStatus(const std::string& what, int err) {
  return InternalError(what + ": " + std::strerror(err));
}

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// Forwards the frontend's stderr to its progress vertex and keeps a tail
// for error messages. Thread-safe.
class StderrLog {
 public:
  StderrLog(solver::ProgressSink* sink, Digest vertex)
      : sink_(sink), vertex_(std::move(vertex)) {}

  void Write(std::string_view data) {
    std::lock_guard<std::mutex> lock(mu_);
    if (sink_ != nullptr) {
      sink_->OnLog(
          solver::VertexLogEntry{.vertex = vertex_,
                                 .stream = 2,
                                 .data = std::string(data),
                                 .timestamp = solver::ProgressClock::now()});
    }
    tail_.append(data);
    if (tail_.size() > 2 * kTailBytes)
      tail_.erase(0, tail_.size() - kTailBytes);
  }

  // The last lines written ("" when none).
  std::string Tail() const {
    std::lock_guard<std::mutex> lock(mu_);
    std::string_view t = tail_;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) {
      t.remove_suffix(1);
    }
    size_t pos = t.size();
    for (int i = 0; i < kTailLines && pos != std::string_view::npos && pos > 0;
         ++i) {
      pos = t.rfind('\n', pos - 1);
    }
    if (pos == std::string_view::npos) pos = 0;
    if (pos > 0) ++pos;
    return std::string(t.substr(pos));
  }

 private:
  solver::ProgressSink* sink_;
  Digest vertex_;
  mutable std::mutex mu_;
  std::string tail_;
};

// The frontend in a container; its exit code.
Result<int> RunContainer(const ProcessSpec& spec, int fd, StderrLog& log,
                         std::stop_token kill) {
  solver::ExecSpec exec;
  exec.rootfs = spec.rootfs;
  exec.readonly_rootfs = true;
  exec.args = spec.args;
  exec.env = spec.env;
  exec.cwd = spec.cwd;
  exec.network = solver::NetworkMode::kNone;
  exec.mounts = spec.mounts;
  for (int code = 0; code < 256; ++code) exec.valid_exit_codes.push_back(code);
  exec.log = [&log](int, std::string_view data,
                    std::chrono::system_clock::time_point) { log.Write(data); };
  exec.stdio_fd = fd;
  KILN_ASSIGN_OR_RETURN(solver::ExecResult result,
                        spec.executor->Run(exec, kill));
  return result.exit_code;
}

// The frontend as a host process with fd 0 = fd 1 = `fd`; its exit code.
// Closes `fd` once the child has it.
Result<int> RunHost(const ProcessSpec& spec, Fd& fd, StderrLog& log,
                    std::stop_token kill) {
  int err_pipe[2];
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    return ErrnoStatus("creating a stderr pipe for " + spec.display, errno);
  }
  Fd err_r(err_pipe[0]), err_w(err_pipe[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fd.get(), 0);
  posix_spawn_file_actions_adddup2(&fa, fd.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err_w.get(), 2);
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
  std::vector<char*> argv, envp;
  for (const std::string& a : spec.args) {
    argv.push_back(const_cast<char*>(a.c_str()));
  }
  argv.push_back(nullptr);
  for (const std::string& e : spec.env) {
    envp.push_back(const_cast<char*>(e.c_str()));
  }
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, argv[0], &fa, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  fd.Reset();
  err_w.Reset();
  if (rc != 0) return ErrnoStatus("starting " + spec.display, rc);

  // Readable once the process exits, so that the loop wakes at once.
  Fd pidfd(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));
  bool killed = false, exited = false, err_open = true;
  int code = -1;
  Clock::time_point exited_at{};
  while (!exited || err_open) {
    if (kill.stop_requested() && !killed && !exited) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
    if (!exited) {
      int status = 0;
      pid_t r = waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        exited = true;
        exited_at = Clock::now();
        code = WIFEXITED(status)     ? WEXITSTATUS(status)
               : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                     : -1;
      }
    }
    if (exited && !err_open) break;
    // A grandchild may keep stderr open: stop reading soon after the exit.
    if (exited && Clock::now() - exited_at > std::chrono::milliseconds(500)) {
      break;
    }
    pollfd p[2] = {{err_open ? err_r.get() : -1, POLLIN, 0},
                   {exited ? -1 : pidfd.get(), POLLIN, 0}};
    int n = poll(p, 2, 50);
    if (n <= 0 || !err_open || !(p[0].revents & (POLLIN | POLLHUP | POLLERR))) {
      continue;
    }
    char buf[16384];
    ssize_t r = read(err_r.get(), buf, sizeof(buf));
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (r <= 0) {
      err_open = false;
      continue;
    }
    log.Write(std::string_view(buf, static_cast<size_t>(r)));
  }
  if (killed) return CancelledError(spec.display + " killed");
  return code;
}

// How long a frontend may linger after Return before it is killed.
constexpr std::chrono::seconds kExitGrace{10};

std::string Seconds(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + " s";
  char buf[32];
  snprintf(buf, sizeof(buf), "%.1f s", static_cast<double>(d.count()) / 1000);
  return buf;
}

}  // namespace

Result<FrontendOutput> RunFrontendProcess(const ProcessSpec& spec,
                                          BridgeServer& bridge,
                                          std::stop_token stop) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return ErrnoStatus("creating the socketpair for " + spec.display, errno);
  }
  Fd child(sv[1]);
  Result<std::unique_ptr<grpc::Server>> served = ServeOnFd(&bridge, sv[0]);
  if (!served.ok()) {
    return served.status().WithContext("serving " + spec.display);
  }
  std::unique_ptr<grpc::Server> server = std::move(*served);

  solver::VertexProgress vertex;
  // One vertex per run: a nested run of the same image (a Dockerfile
  // forwarding to its syntax image) shows as a step of its own.
  static std::atomic<uint64_t> runs{0};
  std::string vertex_key = "kiln-frontend-vertex:";
  vertex_key.append(std::to_string(getpid()))
      .append(":")
      .append(std::to_string(runs.fetch_add(1)))
      .append(":")
      .append(spec.vertex_name);
  vertex.digest = Digest::FromBytes(vertex_key);
  vertex.name = spec.vertex_name;
  vertex.started = solver::ProgressClock::now();
  if (spec.progress != nullptr) spec.progress->OnVertex(vertex);
  StderrLog log(spec.progress, vertex.digest);

  // Kill switch: the caller's stop or the idle watchdog.
  std::stop_source kill;
  std::stop_callback on_stop(stop, [&kill] { kill.request_stop(); });
  std::atomic<bool> timed_out{false};
  std::atomic<bool> lingered{false};
  std::mutex wd_mu;
  std::condition_variable_any wd_cv;
  std::jthread watchdog([&](std::stop_token wd_stop) {
    if (spec.idle_timeout.count() <= 0) return;
    std::unique_lock<std::mutex> lock(wd_mu);
    while (!wd_stop.stop_requested()) {
      wd_cv.wait_for(lock, wd_stop, std::chrono::milliseconds(100),
                     [] { return false; });
      BridgeActivity a = bridge.activity();
      if (a.in_progress != 0) continue;
      Clock::duration idle = Clock::now() - a.last_call;
      // After Return the frontend has nothing left to do but exit.
      if (idle > std::min<Clock::duration>(kExitGrace, spec.idle_timeout) &&
          bridge.result().has_value()) {
        lingered = true;
        kill.request_stop();
        return;
      }
      if (idle > spec.idle_timeout) {
        timed_out = true;
        kill.request_stop();
        return;
      }
    }
  });

  Result<int> exit =
      spec.executor != nullptr
          ? RunContainer(spec, child.get(), log, kill.get_token())
          : RunHost(spec, child, log, kill.get_token());
  child.Reset();
  watchdog.request_stop();
  watchdog.join();
  // The frontend is gone: end what it started, then the server (this is not
  // a handler thread).
  bridge.Cancel();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  server.reset();

  auto finish = [&](Status status) -> Status {
    vertex.completed = solver::ProgressClock::now();
    vertex.error = status.ok() ? "" : status.message();
    if (spec.progress != nullptr) spec.progress->OnVertex(vertex);
    return status;
  };
  std::optional<FinalResult> final_result = bridge.result();
  std::string tail = log.Tail();
  std::string tail_note = tail.empty() ? "" : "\nstderr (last lines):\n" + tail;
  if (stop.stop_requested()) {
    return finish(CancelledError(spec.display + " cancelled"));
  }
  if (final_result.has_value() && !final_result->error.ok()) {
    return finish(final_result->error);
  }
  if (lingered) {
    return finish(DeadlineExceededError(
        spec.display + " returned its result but did not exit within " +
        Seconds(std::chrono::duration_cast<std::chrono::milliseconds>(
            std::min<Clock::duration>(kExitGrace, spec.idle_timeout))) +
        " and was killed" + tail_note));
  }
  if (timed_out) {
    return finish(DeadlineExceededError(spec.display + " made no request for " +
                                        Seconds(spec.idle_timeout) +
                                        " and was killed" + tail_note));
  }
  if (!exit.ok()) return finish(exit.status().WithContext(spec.display));
  if (*exit != 0) {
    return finish(UnknownError(spec.display + " exited with code " +
                               std::to_string(*exit) + tail_note));
  }
  if (!final_result.has_value()) {
    return finish(UnknownError(spec.display +
                               " returned no result (exited without calling "
                               "Return)" +
                               tail_note));
  }
  FrontendOutput out;
  out.result = std::move(*final_result);
  out.warnings = bridge.warnings();
  auto add_def = [&](const std::optional<ResultRef>& ref) {
    if (!ref.has_value() || ref->id.empty()) return;
    if (auto def = bridge.definition(ref->id); def.has_value()) {
      out.definitions[ref->id] = std::move(*def);
    }
  };
  add_def(out.result.ref);
  for (const auto& [key, ref] : out.result.refs) add_def(ref);
  finish(Status::Ok()).IgnoreError();
  return out;
}

}  // namespace kiln::gateway::internal
