#include "git_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "fs_util.h"

namespace kiln::solver::internal {
namespace {

constexpr size_t kMaxStderr = 64 << 10;
constexpr size_t kTailChars = 600;

std::vector<std::string> GitEnvironment(const GitCommand& command) {
  const char* path = std::getenv("PATH");
  std::vector<std::string> env = {
      std::string("PATH=") +
          (path != nullptr && *path != '\0' ? path : "/usr/bin:/bin"),
      "HOME=" + command.home,
      "LC_ALL=C",
      "GIT_TERMINAL_PROMPT=0",
      "GIT_CONFIG_NOSYSTEM=1",
      "GIT_CONFIG_GLOBAL=/dev/null",
      "GIT_SSH_COMMAND=ssh -o BatchMode=yes",
  };
  env.insert(env.end(), command.env.begin(), command.env.end());
  return env;
}

bool Contains(std::string_view text, std::string_view what) {
  return text.find(what) != std::string_view::npos;
}

// The last lines of git's stderr, at most kTailChars, on one line.
std::string StderrTail(std::string_view err) {
  while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) {
    err.remove_suffix(1);
  }
  if (err.size() > kTailChars) {
    err = err.substr(err.size() - kTailChars);
    size_t nl = err.find('\n');
    if (nl != std::string_view::npos) err = err.substr(nl + 1);
  }
  std::string tail(err);
  for (char& c : tail) {
    if (c == '\n') c = ';';
  }
  return tail.empty() ? "no error output" : tail;
}

void ReadInto(int fd, std::string* into, size_t cap, bool* open) {
  std::array<char, 16384> buf;
  ssize_t n = read(fd, buf.data(), buf.size());
  if (n > 0) {
    into->append(buf.data(), static_cast<size_t>(n));
    if (into->size() > cap) into->erase(0, into->size() - cap);
    return;
  }
  if (n == 0 || (errno != EINTR && errno != EAGAIN)) *open = false;
}

}  // namespace

Result<GitOutput> RunGitProcess(const GitCommand& command,
                                std::stop_token stop) {
  int out_pipe[2];
  int err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) {
    return ErrnoStatus("running git: creating a pipe", errno);
  }
  UniqueFd out_read(out_pipe[0]), out_write(out_pipe[1]);
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    return ErrnoStatus("running git: creating a pipe", errno);
  }
  UniqueFd err_read(err_pipe[0]), err_write(err_pipe[1]);

  std::vector<std::string> args = {"git"};
  args.insert(args.end(), command.args.begin(), command.args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env = GitEnvironment(command);
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), 1);
  posix_spawn_file_actions_adddup2(&actions, err_write.get(), 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t no_signals, default_signals;
  sigemptyset(&no_signals);
  sigemptyset(&default_signals);
  sigaddset(&default_signals, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &no_signals);
  posix_spawnattr_setsigdefault(&attr, &default_signals);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
                                      POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, "git", &actions, &attr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    return InternalError(std::string("running git: ") + std::strerror(rc));
  }
  out_write = UniqueFd();
  err_write = UniqueFd();

  GitOutput output;
  bool out_open = true, err_open = true, cancelled = false;
  while (out_open || err_open) {
    if (stop.stop_requested()) {
      kill(-pid, SIGKILL);
      cancelled = true;
      break;
    }
    std::array<pollfd, 2> fds = {
        pollfd{out_open ? out_read.get() : -1, POLLIN, 0},
        pollfd{err_open ? err_read.get() : -1, POLLIN, 0}};
    int n = poll(fds.data(), fds.size(), 100);
    if (n < 0 && errno != EINTR) {
      kill(-pid, SIGKILL);
      break;
    }
    if (n <= 0) continue;
    if (fds[0].revents != 0) {
      ReadInto(out_read.get(), &output.out, SIZE_MAX, &out_open);
    }
    if (fds[1].revents != 0) {
      ReadInto(err_read.get(), &output.err, kMaxStderr, &err_open);
    }
  }
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (cancelled) return CancelledError("running git: cancelled");
  output.exit_code = WIFEXITED(wstatus)     ? WEXITSTATUS(wstatus)
                     : WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus)
                                            : -1;
  return output;
}

Result<std::string> RunGit(std::string_view what, const GitCommand& command,
                           std::stop_token stop) {
  KILN_ASSIGN_OR_RETURN(GitOutput output, RunGitProcess(command, stop));
  if (output.exit_code != 0) return GitFailure(what, output);
  return std::move(output.out);
}

Status RunGitStatus(std::string_view what, const GitCommand& command,
                    std::stop_token stop) {
  Result<std::string> out = RunGit(what, command, stop);
  if (!out.ok()) return out.status();
  return Status::Ok();
}

Status GitFailure(std::string_view what, const GitOutput& output) {
  std::string message = std::string(what) + ": " + StderrTail(output.err);
  const std::string& e = output.err;
  if (Contains(e, "couldn't find remote ref") || Contains(e, "not our ref") ||
      Contains(e, "does not exist") || Contains(e, "not found") ||
      Contains(e, "Not a valid object name") ||
      Contains(e, "does not appear to be a git repository") ||
      Contains(e, "unknown revision") || Contains(e, "bad object") ||
      Contains(e, "returned error: 404")) {
    return NotFoundError(std::move(message));
  }
  if (Contains(e, "Authentication failed") ||
      Contains(e, "could not read Username") ||
      Contains(e, "Permission denied (publickey")) {
    return Status(StatusCode::kUnauthenticated, std::move(message));
  }
  if (Contains(e, "Could not resolve host") ||
      Contains(e, "Connection refused") || Contains(e, "timed out") ||
      Contains(e, "unable to access")) {
    return UnavailableError(std::move(message));
  }
  return UnknownError(std::move(message));
}

}  // namespace kiln::solver::internal
