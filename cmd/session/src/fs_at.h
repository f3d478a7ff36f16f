// File-system helpers relative to directory fds that never follow symlinks,
// for writing received trees. Private to kiln_session.
//
// Thread safety: free functions; an Fd is owned by one thread.
#ifndef KILN_SESSION_SRC_FS_AT_H_
#define KILN_SESSION_SRC_FS_AT_H_

#include <sys/un.h>
#include <unistd.h>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kiln/llb/status.h"

namespace kiln::session::internal {

// An owned file descriptor.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  ~Fd() { Reset(); }
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// A Status for errno `err` while doing `what` (NotFound for ENOENT,
// PermissionDenied for EACCES/EPERM, else Internal).
Status ErrnoError(const std::string& what, int err);

// Opens directory `rel` ("" = `root_fd` itself) below `root_fd`, one
// component at a time with O_NOFOLLOW: a symlink anywhere fails (ELOOP /
// ENOTDIR), so the result is always inside the root.
Result<Fd> OpenDirBelow(int root_fd, const std::string& rel);

// A new Unix stream socket (close-on-exec) and the address of `path` for
// it; InvalidArgument when the path does not fit in sockaddr_un.
struct UnixSocket {
  Fd fd;
  sockaddr_un addr{};
};
Result<UnixSocket> NewUnixSocket(const std::string& path);

// Removes `name` in `dir_fd` and, for a directory, everything below it,
// without following symlinks. A missing entry is not an error.
Status RemoveAllAt(int dir_fd, const std::string& name,
                   const std::string& where);

// Removes the host path `path` (a file or a whole tree) the same way;
// errors are ignored (clean-up of temporary entries).
void RemoveTree(const std::string& path);

// Sorted names in the directory `dir_fd` (which stays open).
Result<std::vector<std::string>> ListDirFd(int dir_fd,
                                           const std::string& where);

// A fresh name for a temporary entry next to `name` (not created).
std::string TempName(std::string_view name);
// Whether `name` was made by TempName.
bool IsTempName(std::string_view name);

// "a/b/c" → {"a/b", "c"}; "c" → {"", "c"}.
std::pair<std::string, std::string> SplitParent(const std::string& path);

// Whether `path` is a clean relative path: not empty, no leading or
// trailing '/', no "", "." or ".." component, no NUL.
bool IsCleanRelative(std::string_view path);

// fsutil's walk order: '/' before every other byte.
bool WalkOrderLess(std::string_view a, std::string_view b);

}  // namespace kiln::session::internal

#endif  // KILN_SESSION_SRC_FS_AT_H_
