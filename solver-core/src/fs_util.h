// File system helpers shared across solver-core (content and image stores,
// image archives, layer sources, the snapshotters and the layer unpacker):
// an owning fd, errno-to-Status mapping, directory listing, mkdir -p,
// whole-file reads, full writes, atomic file replacement, directory fsync,
// symlink-safe recursive removal and nonces for temporary names. Private to
// solver-core.
//
// The removal functions work relative to directory fds and never follow a
// symlink in the last component, so a tree under removal cannot redirect
// them.
//
// Thread safety: free functions; UniqueFd is a move-only value.
#ifndef KILN_SOLVER_SRC_FS_UTIL_H_
#define KILN_SOLVER_SRC_FS_UTIL_H_

#include <string>
#include <string_view>
#include <vector>

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

// "<what> <path>: <strerror(err)>" as an Internal error, whatever `err` is:
// for I/O failures whose callers promise Internal.
Status ErrnoError(std::string_view what, const std::string& path, int err);

// The target of the symlink at `path`. Errors as ErrnoStatus, naming it.
Result<std::string> ReadLink(const std::string& path);

// The directory part of `path`: "." when it has no '/', "/" for "/name".
std::string ParentDir(const std::string& path);

// Opens `path` as a directory (O_DIRECTORY | O_CLOEXEC, plus `extra_flags`).
Result<UniqueFd> OpenDir(const std::string& path, int extra_flags = 0);

// The names in the open directory `dir_fd`, without "." and "..", in
// directory order; `where` names it in errors ("reading directory <where>").
// `dir_fd` stays open and its offset is not used.
Result<std::vector<std::string>> ListDirAt(int dir_fd, std::string_view where);
// ListDirAt on a path ("opening directory <path>" when it cannot be opened).
Result<std::vector<std::string>> ListDir(const std::string& path);

// mkdir -p `path`. Internal "creating <label>: <reason>" on failure, where
// `label` says what the directory is for and where it is.
Status MakeDirs(const std::string& path, std::string_view label);

// The whole content of the file at `path`. Errors: ErrnoStatus("reading
// <path>") — NotFound when it does not exist.
Result<std::string> ReadFile(const std::string& path);

// Writes all of `data` to `fd`, retrying short writes and EINTR;
// ErrnoStatus("writing <path>") on failure.
Status WriteFull(int fd, std::string_view data, const std::string& path);

// Replaces `path` with `data` atomically: writes a temporary file, fsyncs
// it, renames it over `path` and fsyncs the directory. The temporary file
// is `tmp` when given (created or truncated: for callers that serialize
// their writers, so that a crashed write's leftover is reused), else a fresh
// `path.tmp-<nonce>`. It is removed when the write fails.
Status WriteFileAtomic(const std::string& path, std::string_view data,
                       const std::string& tmp = "");

// fsync() of a directory (after creating, renaming or removing in it).
Status FsyncDir(const std::string& path);

// Removes `name` in `dir_fd` and, for a directory, everything under it,
// without following symlinks. A missing `name` is not an error. When
// `force_writable` is set, directories are made writable (and readable,
// when they cannot be opened) before their children are removed (for trees
// an unprivileged caller owns but made read-only or unreadable).
Status RemoveTreeAt(int dir_fd, const std::string& name,
                    bool force_writable = false);
// RemoveTreeAt on an absolute or cwd-relative path.
Status RemoveTree(const std::string& path, bool force_writable = false);

// A random 16-hex-digit nonce for temporary names, from getrandom(2): unique
// across threads and forked processes.
std::string RandomNonce();

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_FS_UTIL_H_
