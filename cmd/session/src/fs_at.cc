#include "fs_at.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>

namespace kiln::session::internal {

Status ErrnoError(const std::string& what, int err) {
  std::string msg = what + ": " + std::strerror(err);
  if (err == ENOENT) return NotFoundError(std::move(msg));
  if (err == EACCES || err == EPERM) {
    return PermissionDeniedError(std::move(msg));
  }
  return InternalError(std::move(msg));
}

Result<Fd> OpenDirBelow(int root_fd, const std::string& rel) {
  Fd cur(fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
  if (!cur.valid()) return ErrnoError("duplicating a directory fd", errno);
  size_t start = 0;
  while (start < rel.size()) {
    size_t slash = rel.find('/', start);
    if (slash == std::string::npos) slash = rel.size();
    std::string name = rel.substr(start, slash - start);
    int fd = openat(cur.get(), name.c_str(),
                    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return ErrnoError("opening directory " + rel, errno);
    cur = Fd(fd);
    start = slash + 1;
  }
  return cur;
}

Result<std::vector<std::string>> ListDirFd(int dir_fd,
                                           const std::string& where) {
  int fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (fd < 0) return ErrnoError("listing " + where, errno);
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    int err = errno;
    close(fd);
    return ErrnoError("listing " + where, err);
  }
  rewinddir(dir);
  std::vector<std::string> names;
  errno = 0;
  while (struct dirent* d = readdir(dir)) {
    std::string_view n = d->d_name;
    if (n != "." && n != "..") names.emplace_back(n);
  }
  int err = errno;
  closedir(dir);
  if (err != 0) return ErrnoError("listing " + where, err);
  std::sort(names.begin(), names.end());
  return names;
}

Status RemoveAllAt(int dir_fd, const std::string& name,
                   const std::string& where) {
  struct stat st {};
  if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return ErrnoError("removing " + where, errno);
  }
  if (S_ISDIR(st.st_mode)) {
    Fd sub(openat(dir_fd, name.c_str(),
                  O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub.valid()) return ErrnoError("removing " + where, errno);
    KILN_ASSIGN_OR_RETURN(auto names, ListDirFd(sub.get(), where));
    for (const auto& n : names) {
      KILN_RETURN_IF_ERROR(RemoveAllAt(sub.get(), n, where + "/" + n));
    }
    if (unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
      return ErrnoError("removing " + where, errno);
    }
    return Status::Ok();
  }
  if (unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
    return ErrnoError("removing " + where, errno);
  }
  return Status::Ok();
}

namespace {
constexpr std::string_view kTempPrefix = ".kiln-incoming-";
}  // namespace

std::string TempName(std::string_view name) {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out(kTempPrefix);
  out.append(std::to_string(rng() % 1000000000));
  out.append("-");
  out.append(std::to_string(counter.fetch_add(1)));
  out.append("-");
  out.append(name.substr(0, 64));
  return out;
}

bool IsTempName(std::string_view name) { return name.starts_with(kTempPrefix); }

void RemoveTree(const std::string& path) {
  const size_t slash = path.rfind('/');
  std::string parent = ".";
  if (slash == 0) {
    parent.assign(1, '/');
  } else if (slash != std::string::npos) {
    parent.assign(path, 0, slash);
  }
  Fd dir(open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.valid()) return;
  RemoveAllAt(dir.get(), path.substr(slash + 1), path).IgnoreError();
}

std::pair<std::string, std::string> SplitParent(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {"", path};
  return {path.substr(0, slash), path.substr(slash + 1)};
}

bool IsCleanRelative(std::string_view path) {
  if (path.empty() || path.size() > 4096) return false;
  if (path.find('\0') != std::string_view::npos) return false;
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string_view c = path.substr(
        start, slash == std::string_view::npos ? slash : slash - start);
    if (c.empty() || c == "." || c == "..") return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool WalkOrderLess(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    if (a[i] == b[i]) continue;
    if (a[i] == '/') return true;
    if (b[i] == '/') return false;
    return static_cast<unsigned char>(a[i]) < static_cast<unsigned char>(b[i]);
  }
  return a.size() < b.size();
}

Result<UnixSocket> NewUnixSocket(const std::string& path) {
  UnixSocket out;
  if (path.size() >= sizeof(out.addr.sun_path)) {
    return InvalidArgumentError("socket path too long: " + path);
  }
  out.addr.sun_family = AF_UNIX;
  std::memcpy(out.addr.sun_path, path.c_str(), path.size() + 1);
  out.fd = Fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!out.fd.valid()) return ErrnoError("creating a socket", errno);
  return out;
}

}  // namespace kiln::session::internal
