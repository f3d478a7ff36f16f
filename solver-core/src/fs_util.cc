#include "fs_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <filesystem>

#include "kiln/llb/digest.h"

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

Status ErrnoError(std::string_view what, const std::string& path, int err) {
  return InternalError(std::string(what) + " " + path + ": " +
                       std::strerror(err));
}

std::string ParentDir(const std::string& path) {
  auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Result<UniqueFd> OpenDir(const std::string& path, int extra_flags) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | extra_flags);
  if (fd < 0) return ErrnoStatus("opening directory " + path, errno);
  return UniqueFd(fd);
}

Result<std::vector<std::string>> ListDirAt(int dir_fd, std::string_view where) {
  std::string what = "reading directory " + std::string(where);
  int dup_fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return ErrnoStatus(what, errno);
  DIR* d = fdopendir(dup_fd);
  if (d == nullptr) {
    int err = errno;
    close(dup_fd);
    return ErrnoStatus(what, err);
  }
  rewinddir(d);  // the duplicate shares its offset with `dir_fd`
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  int err = errno;
  closedir(d);
  if (err != 0) return ErrnoStatus(what, err);
  return names;
}

Result<std::vector<std::string>> ListDir(const std::string& path) {
  KILN_ASSIGN_OR_RETURN(UniqueFd dir, OpenDir(path));
  return ListDirAt(dir.get(), path);
}

Status MakeDirs(const std::string& path, std::string_view label) {
  std::error_code ec;
  std::filesystem::create_directories(path, ec);
  if (ec) {
    return InternalError("creating " + std::string(label) + ": " +
                         ec.message());
  }
  return Status::Ok();
}

Result<std::string> ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("reading " + path, errno);
  UniqueFd file(fd);
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(file.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("reading " + path, errno);
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

Status WriteFull(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("writing " + path, errno);
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

namespace {

// Removes every entry of the open directory `dir` (recursively).
Status RemoveChildren(int dir, const std::string& where, bool force_writable) {
  if (force_writable)
    fchmod(dir, 0700);  // best effort: we own it or fail below
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirAt(dir, where));
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
  if (child < 0 && errno == EACCES && force_writable &&
      fchmodat(dir_fd, name.c_str(), 0700, 0) == 0) {
    // A directory we own but cannot read (mode 0000): opened above as a
    // directory without following, so fchmodat has no symlink to follow.
    child = openat(dir_fd, name.c_str(),
                   O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
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
  std::string parent = ParentDir(path);
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

Status WriteFileAtomic(const std::string& path, std::string_view data,
                       const std::string& tmp_arg) {
  std::string tmp = tmp_arg.empty() ? path + ".tmp-" + RandomNonce() : tmp_arg;
  int flags =
      O_WRONLY | O_CREAT | O_CLOEXEC | (tmp_arg.empty() ? O_EXCL : O_TRUNC);
  int fd = open(tmp.c_str(), flags, 0644);
  if (fd < 0) return ErrnoStatus("creating " + tmp, errno);
  UniqueFd file(fd);
  Status written = WriteFull(file.get(), data, tmp);
  if (written.ok() && fsync(file.get()) != 0)
    written = ErrnoStatus("syncing " + tmp, errno);
  if (written.ok() && rename(tmp.c_str(), path.c_str()) != 0)
    written = ErrnoStatus("renaming " + tmp + " to " + path, errno);
  if (!written.ok()) {
    unlink(tmp.c_str());
    return written;
  }
  return FsyncDir(ParentDir(path));
}

std::string RandomNonce() {
  unsigned char bytes[8];
  size_t got = 0;
  while (got < sizeof(bytes)) {
    ssize_t n = getrandom(bytes + got, sizeof(bytes) - got, 0);
    if (n < 0 && errno == EINTR) continue;
    KILN_CHECK(n > 0, "getrandom failed");
    got += static_cast<size_t>(n);
  }
  return HexEncode(
      std::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
}

Result<std::string> ReadLink(const std::string& path) {
  std::string buf(PATH_MAX, '\0');
  ssize_t n = readlink(path.c_str(), buf.data(), buf.size());
  if (n < 0) return ErrnoStatus("reading symlink " + path, errno);
  buf.resize(static_cast<size_t>(n));
  return buf;
}

}  // namespace kiln::solver::internal
