#include "unpack_resolve.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <deque>

#include "path_util.h"

namespace kiln::solver::internal {
namespace {

constexpr int kMaxSymlinks = 40;  // as the kernel's MAXSYMLINKS

// False once openat2 turned out missing (ENOSYS) or filtered (EPERM from a
// seccomp profile, EINVAL from an old kernel that lacks a flag).
std::atomic<bool> openat2_usable{true};

// openat2(RESOLVE_IN_ROOT). Returns the fd, or -errno.
int OpenAt2InRoot(int root_fd, const std::string& path) {
  open_how how{};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  for (int attempt = 0; attempt < 8; ++attempt) {
    long fd = syscall(SYS_openat2, root_fd, path.c_str(), &how, sizeof(how));
    if (fd >= 0) return static_cast<int>(fd);
    if (errno != EAGAIN && errno != EINTR) return -errno;
  }
  return -EAGAIN;
}

struct Frame {
  std::string name;
  UniqueFd fd;
};

std::string FramesPath(const std::vector<Frame>& stack) {
  std::string out;
  for (size_t i = 1; i < stack.size(); ++i) {
    if (!out.empty()) out += '/';
    out += stack[i].name;
  }
  return out;
}

Result<UniqueFd> ResolvePortable(int root_fd,
                                 const std::vector<std::string>& components,
                                 const ResolveOptions& options) {
  std::vector<Frame> stack;
  int root_dup = fcntl(root_fd, F_DUPFD_CLOEXEC, 0);
  if (root_dup < 0) return ErrnoStatus("duplicating root fd", errno);
  stack.push_back({"", UniqueFd(root_dup)});
  std::deque<std::string> todo(components.begin(), components.end());
  int links = 0;
  while (!todo.empty()) {
    std::string comp = std::move(todo.front());
    todo.pop_front();
    if (comp.empty() || comp == ".") continue;
    if (comp == "..") {
      if (stack.size() > 1) stack.pop_back();
      continue;
    }
    int cur = stack.back().fd.get();
    int fd = openat(cur, comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && options.mkdir != nullptr) {
      std::string rel = FramesPath(stack);
      rel = rel.empty() ? comp : rel + "/" + comp;
      Status made = (*options.mkdir)(cur, comp, rel);
      if (!made.ok() && made.code() != StatusCode::kAlreadyExists) return made;
      fd = openat(cur, comp.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0) {
      std::string rel = FramesPath(stack);
      return ErrnoStatus("resolving " + (rel.empty() ? comp : rel + "/" + comp),
                         errno);
    }
    UniqueFd next(fd);
    struct stat st {};
    if (fstat(next.get(), &st) != 0)
      return ErrnoStatus("stat of " + comp, errno);
    if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxSymlinks)
        return ErrnoStatus("resolving " + comp, ELOOP);
      std::string target(4096, '\0');
      ssize_t n = readlinkat(next.get(), "", target.data(), target.size());
      if (n < 0) return ErrnoStatus("reading symlink " + comp, errno);
      target.resize(static_cast<size_t>(n));
      if (!target.empty() && target[0] == '/') stack.resize(1);
      std::vector<std::string> parts = SplitPath(target);
      todo.insert(todo.begin(), parts.begin(), parts.end());
      continue;
    }
    if (!S_ISDIR(st.st_mode)) {
      std::string rel = FramesPath(stack);
      return ErrnoStatus("resolving " + (rel.empty() ? comp : rel + "/" + comp),
                         ENOTDIR);
    }
    stack.push_back({comp, std::move(next)});
  }
  return std::move(stack.back().fd);
}

}  // namespace

Result<UniqueFd> OpenDirInRoot(int root_fd,
                               const std::vector<std::string>& components,
                               const ResolveOptions& options) {
  if (!options.portable && openat2_usable.load(std::memory_order_relaxed)) {
    std::string path = components.empty() ? "." : JoinPath(components);
    int fd = OpenAt2InRoot(root_fd, path);
    if (fd >= 0) return UniqueFd(fd);
    int err = -fd;
    if (err == ENOSYS || err == EPERM || err == EINVAL || err == E2BIG) {
      openat2_usable.store(false, std::memory_order_relaxed);
    } else if (err != ENOENT || options.mkdir == nullptr) {
      if (err != EAGAIN) return ErrnoStatus("resolving " + path, err);
    }
    // Missing directories to create, or openat2 unusable: walk by hand.
  }
  return ResolvePortable(root_fd, components, options);
}

}  // namespace kiln::solver::internal
