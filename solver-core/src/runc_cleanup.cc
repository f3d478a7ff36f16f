// RuncExecutor::CleanupStale: what an engine killed during a run left in
// its state dir (containers, mounts, bundles).
#include <fcntl.h>
#include <spawn.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdlib>

#include "fs_util.h"
#include "kiln/solver/executor.h"

extern char** environ;

namespace kiln::solver {
namespace {

using internal::UniqueFd;

constexpr int kMaxUnmountRounds = 64;

// Runs argv to completion with stdin and stderr on /dev/null: its stdout,
// or an error when it cannot be started or exits non-zero.
Result<std::string> RunCapture(const std::vector<std::string>& argv) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) {
    return internal::ErrnoError("creating pipe for", argv[0], errno);
  }
  UniqueFd r(p[0]), w(p[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, w.get(), 1);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  std::vector<char*> cargv;
  for (const std::string& a : argv) {
    cargv.push_back(const_cast<char*>(a.c_str()));
  }
  cargv.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  w = UniqueFd();
  if (rc != 0) return internal::ErrnoError("spawning", argv[0], rc);
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(r.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string cmd;
    for (const std::string& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
    return InternalError("\"" + cmd + "\" failed");
  }
  return out;
}

// "\040"-style escapes of /proc/self/mountinfo undone.
std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' &&
        s[i + 1] <= '3') {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 +
                               (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Mount points at or below `prefix` + "/", deepest first.
Result<std::vector<std::string>> MountsUnder(const std::string& prefix) {
  KILN_ASSIGN_OR_RETURN(std::string info,
                        internal::ReadFile("/proc/self/mountinfo"));
  std::vector<std::string> out;
  size_t start = 0;
  while (start < info.size()) {
    size_t end = info.find('\n', start);
    if (end == std::string::npos) end = info.size();
    std::string_view line(info.data() + start, end - start);
    start = end + 1;
    // id parent major:minor root mountpoint ...
    size_t pos = 0;
    for (int field = 0; field < 4 && pos != std::string_view::npos; ++field) {
      pos = line.find(' ', pos);
      if (pos != std::string_view::npos) ++pos;
    }
    if (pos == std::string_view::npos) continue;
    std::string target = Unescape(line.substr(pos, line.find(' ', pos) - pos));
    if (target.compare(0, prefix.size() + 1, prefix + "/") == 0) {
      out.push_back(std::move(target));
    }
  }
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) {
              return a.size() > b.size();
            });
  return out;
}

}  // namespace

Status RuncExecutor::CleanupStale() {
  // 1. Containers: killed (the whole cgroup, with --all where it matters)
  //    and deleted.
  auto list = RunCapture({runtime_, "--root", runtime_root_, "list", "-q"});
  if (list.ok()) {
    size_t start = 0;
    while (start < list->size()) {
      size_t end = list->find('\n', start);
      if (end == std::string::npos) end = list->size();
      std::string id = list->substr(start, end - start);
      start = end + 1;
      if (id.empty()) continue;
      RunCapture({runtime_, "--root", runtime_root_, "kill", id, "KILL"})
          .status()
          .IgnoreError();
      RunCapture({runtime_, "--root", runtime_root_, "delete", "--force", id})
          .status()
          .IgnoreError();
    }
  }

  // 2. Mounts under the bundles, deepest first, lazily: nothing there is in
  //    use any more.
  const std::string bundles = state_dir_ + "/bundles";
  char real[PATH_MAX];
  if (realpath(bundles.c_str(), real) == nullptr) {
    return internal::ErrnoError("resolving", bundles, errno);
  }
  std::vector<std::string> left;
  for (int round = 0; round < kMaxUnmountRounds; ++round) {
    KILN_ASSIGN_OR_RETURN(left, MountsUnder(real));
    if (left.empty()) break;
    for (const std::string& target : left) {
      umount2(target.c_str(), MNT_DETACH);
    }
  }
  if (!left.empty()) {
    // Removing the bundles now could delete through a bind mount.
    return InternalError("runc executor: cannot unmount stale " + left[0]);
  }

  // 3. The bundles themselves.
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> names,
                        internal::ListDir(bundles));
  for (const std::string& name : names) {
    KILN_RETURN_IF_ERROR(internal::RemoveTree(bundles + "/" + name));
  }
  return Status::Ok();
}

}  // namespace kiln::solver
