#include "root_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace kiln::gateway {
namespace {

// Closes an fd on scope exit.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&&) = delete;
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

Status Errno(int err, std::string_view what, std::string_view path) {
  std::string message =
      std::string(what) + " " + std::string(path) + ": " + std::strerror(err);
  if (err == ENOENT) return NotFoundError(message);
  if (err == ENOTDIR || err == EISDIR || err == ELOOP || err == EXDEV) {
    return InvalidArgumentError(message);
  }
  return InternalError(message);
}

// Opens `path` inside `root` with openat2(RESOLVE_IN_ROOT).
Result<Fd> OpenInRoot(const std::string& root, std::string_view path,
                      uint64_t flags) {
  Fd root_fd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (root_fd.get() < 0) return Errno(errno, "opening ref root", root);
  std::string rel = path.empty() ? std::string(".") : std::string(path);
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int fd = static_cast<int>(
      syscall(SYS_openat2, root_fd.get(), rel.c_str(), &how, sizeof(how)));
  if (fd < 0) return Errno(errno, "opening", path);
  return Result<Fd>(Fd(fd));
}

// Go's os.FileMode bits from a POSIX st_mode (reference/gateway.md §4.4).
uint32_t GoMode(mode_t mode) {
  uint32_t out = mode & 0777;
  if (mode & S_ISUID) out |= 1u << 23;
  if (mode & S_ISGID) out |= 1u << 22;
  if (mode & S_ISVTX) out |= 1u << 20;
  switch (mode & S_IFMT) {
    case S_IFDIR:
      out |= 1u << 31;
      break;
    case S_IFLNK:
      out |= 1u << 27;
      break;
    case S_IFBLK:
      out |= 1u << 26;
      break;
    case S_IFCHR:
      out |= (1u << 26) | (1u << 21);
      break;
    case S_IFIFO:
      out |= 1u << 25;
      break;
    case S_IFSOCK:
      out |= 1u << 24;
      break;
    default:
      break;
  }
  return out;
}

Result<fsutil::types::Stat> StatAt(int dir_fd, const std::string& name,
                                   std::string_view shown) {
  struct stat st {};
  const char* target = name.empty() ? "" : name.c_str();
  int flags = AT_SYMLINK_NOFOLLOW | (name.empty() ? AT_EMPTY_PATH : 0);
  if (fstatat(dir_fd, target, &st, flags) != 0) {
    return Errno(errno, "stat", shown);
  }
  fsutil::types::Stat out;
  out.set_mode(GoMode(st.st_mode));
  out.set_uid(st.st_uid);
  out.set_gid(st.st_gid);
  if (!S_ISDIR(st.st_mode)) out.set_size(st.st_size);
  out.set_modtime(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 +
                  st.st_mtim.tv_nsec);
  if (S_ISLNK(st.st_mode)) {
    std::string link(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = readlinkat(dir_fd, target, link.data(), link.size());
    if (n < 0) return Errno(errno, "readlink", shown);
    link.resize(static_cast<size_t>(n));
    out.set_linkname(link);
  }
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) {
    out.set_devmajor(major(st.st_rdev));
    out.set_devminor(minor(st.st_rdev));
  }
  return out;
}

// Splits "a/b/c" into ("a/b", "c"); trailing slashes dropped. The root
// itself ("", "/", ".") gives ("", "").
std::pair<std::string, std::string> SplitPath(std::string_view path) {
  std::string p(path);
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  if (p.empty() || p == "/" || p == ".") return {"", ""};
  size_t slash = p.rfind('/');
  if (slash == std::string::npos) return {"", p};
  return {p.substr(0, slash), p.substr(slash + 1)};
}

}  // namespace

Result<std::string> ReadFileInRoot(const std::string& root,
                                   std::string_view path,
                                   std::optional<ByteRange> range) {
  if (range && (range->offset < 0 || range->length < 0)) {
    return InvalidArgumentError("read " + std::string(path) +
                                ": negative range");
  }
  // O_NONBLOCK: opening a named pipe must not wait for a writer (it is
  // refused below like any file that is not regular).
  KILN_ASSIGN_OR_RETURN(
      Fd fd, OpenInRoot(root, path, O_RDONLY | O_NOCTTY | O_NONBLOCK));
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) return Errno(errno, "stat", path);
  if (!S_ISREG(st.st_mode)) {
    return InvalidArgumentError("read " + std::string(path) +
                                ": not a regular file");
  }
  int64_t offset = range ? range->offset : 0;
  int64_t end = st.st_size;
  if (range && range->length < end - offset) {
    end = offset + range->length;  // no overflow: length < size - offset
  }
  if (end - offset > kMaxReadFileBytes) {
    return ResourceExhaustedError(
        "read " + std::string(path) + ": " + std::to_string(end - offset) +
        " bytes exceed the " + std::to_string(kMaxReadFileBytes >> 20) +
        " MiB a ReadFile answer may carry; read it in ranges");
  }
  std::string data;
  if (end > offset) data.resize(static_cast<size_t>(end - offset));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = pread(fd.get(), data.data() + done, data.size() - done,
                      offset + static_cast<int64_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno(errno, "read", path);
    if (n == 0) break;  // the file shrank
    done += static_cast<size_t>(n);
  }
  data.resize(done);
  return data;
}

Result<fsutil::types::Stat> StatInRoot(const std::string& root,
                                       std::string_view path) {
  auto [dir, base] = SplitPath(path);
  if (base == "." || base == "..") {
    // Resolved inside the root as a whole: ".." of the root is the root.
    dir = std::string(path);
    base.clear();
  }
  KILN_ASSIGN_OR_RETURN(Fd dir_fd, OpenInRoot(root, dir, O_PATH | O_DIRECTORY));
  KILN_ASSIGN_OR_RETURN(fsutil::types::Stat st,
                        StatAt(dir_fd.get(), base, path));
  st.set_path(base.empty() ? "/" : base);
  return st;
}

Result<std::vector<fsutil::types::Stat>> ReadDirInRoot(
    const std::string& root, std::string_view path, std::string_view pattern) {
  KILN_ASSIGN_OR_RETURN(Fd fd, OpenInRoot(root, path, O_RDONLY | O_DIRECTORY));
  std::string pat(pattern);
  int dup_fd = fcntl(fd.get(), F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return Errno(errno, "read dir", path);
  DIR* d = fdopendir(dup_fd);
  if (d == nullptr) {
    int err = errno;
    close(dup_fd);
    return Errno(err, "read dir", path);
  }
  std::vector<std::string> names;
  errno = 0;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    if (!pat.empty() && fnmatch(pat.c_str(), name.c_str(), 0) != 0) continue;
    names.push_back(std::move(name));
  }
  int err = errno;
  closedir(d);
  if (err != 0) return Errno(err, "read dir", path);
  std::sort(names.begin(), names.end());
  std::vector<fsutil::types::Stat> out;
  for (const std::string& name : names) {
    KILN_ASSIGN_OR_RETURN(fsutil::types::Stat st, StatAt(fd.get(), name, name));
    st.set_path(name);
    out.push_back(std::move(st));
  }
  return out;
}

}  // namespace kiln::gateway
