#include "snapshot_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <vector>

namespace kiln::solver::internal {

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    fd_ = other.Release();
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) close(fd_);
}

Status ErrnoStatus(std::string_view what, int err) {
  std::string message = std::string(what) + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
      return NotFoundError(std::move(message));
    case EEXIST:
      return AlreadyExistsError(std::move(message));
    case EACCES:
    case EPERM:
      return PermissionDeniedError(std::move(message));
    case ENOTDIR:
    case ELOOP:
      return FailedPreconditionError(std::move(message));
    default:
      return InternalError(std::move(message));
  }
}

Result<UniqueFd> OpenDir(const std::string& path, int extra_flags) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | extra_flags);
  if (fd < 0) return ErrnoStatus("opening directory " + path, errno);
  return UniqueFd(fd);
}

namespace {

// Removes every entry of the open directory `dir` (recursively).
Status RemoveChildren(int dir, const std::string& where, bool force_writable) {
  if (force_writable)
    fchmod(dir, 0700);  // best effort: we own it or fail below
  int dup_fd = fcntl(dir, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return ErrnoStatus("reading directory " + where, errno);
  DIR* d = fdopendir(dup_fd);
  if (d == nullptr) {
    close(dup_fd);
    return ErrnoStatus("reading directory " + where, errno);
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  int err = errno;
  closedir(d);
  if (err != 0) return ErrnoStatus("reading directory " + where, err);
  for (const std::string& name : names) {
    KILN_RETURN_IF_ERROR(RemoveTreeAt(dir, name, force_writable));
  }
  return Status::Ok();
}

}  // namespace

Status RemoveTreeAt(int dir_fd, const std::string& name, bool force_writable) {
  if (unlinkat(dir_fd, name.c_str(), 0) == 0) return Status::Ok();
  int err = errno;
  if (err == ENOENT) return Status::Ok();
  if (err != EISDIR && err != EPERM)
    return ErrnoStatus("removing " + name, err);
  int child = openat(dir_fd, name.c_str(),
                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (child < 0) {
    // EPERM for a non-directory: a real permission problem.
    return ErrnoStatus("removing " + name, errno == ENOTDIR ? err : errno);
  }
  UniqueFd child_fd(child);
  KILN_RETURN_IF_ERROR(RemoveChildren(child_fd.get(), name, force_writable));
  if (unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return ErrnoStatus("removing directory " + name, errno);
  }
  return Status::Ok();
}

Status RemoveTree(const std::string& path, bool force_writable) {
  auto slash = path.find_last_of('/');
  std::string parent = slash == std::string::npos ? std::string(".")
                       : slash == 0               ? std::string("/")
                                                  : path.substr(0, slash);
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  if (base.empty() || base == "." || base == "..") {
    return InvalidArgumentError("refusing to remove \"" + path + "\"");
  }
  auto dir = OpenDir(parent);
  if (!dir.ok()) {
    if (dir.status().code() == StatusCode::kNotFound) return Status::Ok();
    return dir.status();
  }
  return RemoveTreeAt(dir->get(), base, force_writable)
      .WithContext("removing " + path);
}

Status FsyncDir(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(UniqueFd dir, OpenDir(path));
  if (fsync(dir.get()) != 0)
    return ErrnoStatus("syncing directory " + path, errno);
  return Status::Ok();
}

Status WriteFileAtomic(const std::string& path, std::string_view data) {
  std::string tmp = path + ".tmp-" + RandomNonce();
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("creating " + tmp, errno);
  UniqueFd file(fd);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(file.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      unlink(tmp.c_str());
      return ErrnoStatus("writing " + tmp, err);
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(file.get()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return ErrnoStatus("syncing " + tmp, err);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return ErrnoStatus("renaming " + tmp + " to " + path, err);
  }
  auto slash = path.find_last_of('/');
  return FsyncDir(slash == std::string::npos
                      ? "."
                      : (slash == 0 ? "/" : path.substr(0, slash)));
}

std::string RandomNonce() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  uint64_t v = rng();
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, v >>= 4)
    out[static_cast<size_t>(i)] = kHex[v & 0xf];
  return out;
}

}  // namespace kiln::solver::internal
