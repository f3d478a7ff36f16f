// File system helpers shared by the snapshotters and the layer unpacker:
// an owning fd, errno-to-Status mapping, symlink-safe recursive removal,
// atomic file replacement. Private to solver-core.
//
// Every function works relative to directory fds and never follows a symlink
// in the last component, so a tree under removal cannot redirect it.
//
// Thread safety: free functions; UniqueFd is a move-only value.
#ifndef KILN_SOLVER_SRC_SNAPSHOT_FS_H_
#define KILN_SOLVER_SRC_SNAPSHOT_FS_H_

#include <string>
#include <string_view>

#include "kiln/llb/status.h"

namespace kiln::solver::internal {

// Owns a file descriptor; closes it on destruction.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// "<what>: <strerror(err)>" as a Status: NotFound for ENOENT, AlreadyExists
// for EEXIST, PermissionDenied for EACCES/EPERM, FailedPrecondition for
// ENOTDIR/ELOOP (a path that is not what it should be), Internal otherwise.
Status ErrnoStatus(std::string_view what, int err);

// Opens `path` as a directory (O_DIRECTORY | O_CLOEXEC, plus `extra_flags`).
Result<UniqueFd> OpenDir(const std::string& path, int extra_flags = 0);

// Removes `name` in `dir_fd` and, for a directory, everything under it,
// without following symlinks. A missing `name` is not an error. When
// `force_writable` is set, directories are made writable before their
// children are removed (for trees an unprivileged caller owns but made
// read-only).
Status RemoveTreeAt(int dir_fd, const std::string& name,
                    bool force_writable = false);
// RemoveTreeAt on an absolute or cwd-relative path.
Status RemoveTree(const std::string& path, bool force_writable = false);

// Replaces `path` with `data` atomically: writes `path.tmp-<nonce>`, fsyncs
// it, renames it over `path` and fsyncs the directory.
Status WriteFileAtomic(const std::string& path, std::string_view data);

// fsync() of a directory (after creating, renaming or removing in it).
Status FsyncDir(const std::string& path);

// A random 16-hex-digit nonce for temporary names.
std::string RandomNonce();

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_SNAPSHOT_FS_H_
