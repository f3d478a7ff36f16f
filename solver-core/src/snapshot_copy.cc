// CopyTree (declared in snapshot_base.h): a real, metadata-preserving copy
// of a snapshot tree for the copy snapshotter. Hardlinking files instead
// would let a change in the child show through in the committed parent.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "snapshot_base.h"

namespace kiln::solver::internal {
namespace {

std::string ProcPath(int dir_fd, const std::string& name) {
  return "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name;
}

// Unprivileged copies lend themselves owner permissions on the source for a
// moment (see OpenSource); one at a time, so that no copy reads a mode that
// another has lent.
std::mutex unprivileged_copy_mu;

// What an unprivileged owner must add to `mode` to read a file (u+r) or to
// list and search a directory (u+rx); 0 when nothing is missing.
mode_t MissingOwnerBits(const struct stat& st) {
  mode_t need = S_ISDIR(st.st_mode) ? (S_IRUSR | S_IXUSR) : S_IRUSR;
  return need & ~st.st_mode;
}

// A source opened for copying. When OpenSource lent it owner permissions,
// Restore() (or destruction, before the fd closes) sets its mode back.
struct SourceFd {
  SourceFd() = default;
  SourceFd(SourceFd&& other) noexcept
      : fd(std::move(other.fd)),
        lent_(std::exchange(other.lent_, false)),
        mode_(other.mode_) {}
  SourceFd& operator=(SourceFd&&) = delete;
  ~SourceFd() { Restore().IgnoreError(); }

  Status Restore() {
    if (!std::exchange(lent_, false)) return Status::Ok();
    if (fchmod(fd.get(), mode_) != 0)
      return ErrnoStatus("restoring the source's mode", errno);
    return Status::Ok();
  }

  UniqueFd fd;

 private:
  friend Result<SourceFd> OpenSource(int, const std::string&, int,
                                     const struct stat&, bool);
  bool lent_ = false;
  mode_t mode_ = 0;
};

// Opens the source `name` (lstat `st`) in `dir_fd` with `flags`. When
// unprivileged, a source we own that lacks the owner bits to be copied (a
// mode 0000 /etc/shadow; a directory without u+r or u+x, which would refuse
// to list or to look up its children) gets them added with fchmodat first:
// for a file once open() failed with EACCES, for a directory up front. The
// caller restores the original mode once the copy no longer needs the
// access (a file: right after opening; a directory: after its children).
Result<SourceFd> OpenSource(int dir_fd, const std::string& name, int flags,
                            const struct stat& st, bool privileged) {
  SourceFd out;
  mode_t missing = MissingOwnerBits(st);
  bool lend = !privileged && missing != 0 && st.st_uid == geteuid();
  if (!lend || !S_ISDIR(st.st_mode)) {
    int fd = openat(dir_fd, name.c_str(), flags);
    if (fd >= 0) {
      out.fd = UniqueFd(fd);
      return out;
    }
    if (errno != EACCES || !lend) return ErrnoStatus("opening", errno);
  }
  mode_t original = st.st_mode & 07777;
  // Not a symlink (st is its lstat), so fchmodat has nothing to follow.
  if (fchmodat(dir_fd, name.c_str(), original | missing, 0) != 0)
    return ErrnoStatus("adding owner permissions to copy it", errno);
  int fd = openat(dir_fd, name.c_str(), flags);
  if (fd < 0) {
    int err = errno;
    fchmodat(dir_fd, name.c_str(), original, 0);
    return ErrnoStatus("opening", err);
  }
  out.fd = UniqueFd(fd);
  out.lent_ = true;
  out.mode_ = original;
  return out;
}

class TreeCopier {
 public:
  TreeCopier(int dst_root, bool privileged)
      : dst_root_(dst_root), privileged_(privileged) {}

  Status CopyDir(int src, int dst, const std::string& rel) {
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> names,
                          ListDirAt(src, rel.empty() ? "." : rel));
    for (const std::string& name : names) {
      std::string child = rel.empty() ? name : rel + "/" + name;
      KILN_RETURN_IF_ERROR(
          CopyEntry(src, dst, name, child).WithContext("copying " + child));
    }
    return Status::Ok();
  }

  // Owner, mode, xattrs and times of a directory, after its contents.
  Status FinishDir(int src, int dst, const struct stat& st) {
    if (privileged_ && fchown(dst, st.st_uid, st.st_gid) != 0)
      return ErrnoStatus("chown", errno);
    if (fchmod(dst, st.st_mode & 07777) != 0)
      return ErrnoStatus("chmod", errno);
    KILN_RETURN_IF_ERROR(CopyXattrs(src, dst, "", -1, -1));
    timespec times[2] = {st.st_atim, st.st_mtim};
    if (futimens(dst, times) != 0) return ErrnoStatus("setting times", errno);
    return Status::Ok();
  }

 private:
  Status CopyEntry(int src, int dst, const std::string& name,
                   const std::string& rel) {
    struct stat st {};
    if (fstatat(src, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return ErrnoStatus("stat", errno);
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(dst, name.c_str(), 0700) != 0)
        return ErrnoStatus("mkdir", errno);
      KILN_ASSIGN_OR_RETURN(
          SourceFd src_dir,
          OpenSource(src, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC,
                     st, privileged_));
      int d = openat(dst, name.c_str(),
                     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (d < 0) return ErrnoStatus("opening copy", errno);
      UniqueFd dst_dir(d);
      KILN_RETURN_IF_ERROR(CopyDir(src_dir.fd.get(), dst_dir.get(), rel));
      KILN_RETURN_IF_ERROR(FinishDir(src_dir.fd.get(), dst_dir.get(), st));
      return src_dir.Restore();
    }
    bool device = S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode);
    if (S_ISSOCK(st.st_mode) || (device && !privileged_))
      return Status::Ok();  // as unpacking
    if (st.st_nlink > 1) {
      auto [it, first] =
          links_.emplace(std::make_pair(st.st_dev, st.st_ino), rel);
      if (!first) {
        if (linkat(dst_root_, it->second.c_str(), dst, name.c_str(), 0) != 0) {
          return ErrnoStatus("linking to " + it->second, errno);
        }
        return Status::Ok();
      }
    }
    if (S_ISREG(st.st_mode)) return CopyFile(src, dst, name, st);
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = readlinkat(src, name.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoStatus("readlink", errno);
      target.resize(static_cast<size_t>(n));
      if (symlinkat(target.c_str(), dst, name.c_str()) != 0)
        return ErrnoStatus("symlink", errno);
    } else if (device || S_ISFIFO(st.st_mode)) {
      if (mknodat(dst, name.c_str(), st.st_mode & (S_IFMT | 0777),
                  st.st_rdev) != 0) {
        return ErrnoStatus("mknod", errno);
      }
      if (fchmodat(dst, name.c_str(), st.st_mode & 07777, 0) != 0)
        return ErrnoStatus("chmod", errno);
    } else {
      return InternalError("unknown file type");
    }
    if (privileged_ && fchownat(dst, name.c_str(), st.st_uid, st.st_gid,
                                AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus("chown", errno);
    }
    KILN_RETURN_IF_ERROR(CopyXattrs(-1, -1, name, src, dst));
    timespec times[2] = {st.st_atim, st.st_mtim};
    if (utimensat(dst, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus("setting times", errno);
    }
    return Status::Ok();
  }

  Status CopyFile(int src, int dst, const std::string& name,
                  const struct stat& st) {
    KILN_ASSIGN_OR_RETURN(
        SourceFd source,
        OpenSource(src, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC, st,
                   privileged_));
    KILN_RETURN_IF_ERROR(source.Restore());  // the open fd reads on
    const UniqueFd& in = source.fd;
    int d = openat(dst, name.c_str(),
                   O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (d < 0) return ErrnoStatus("creating copy", errno);
    UniqueFd out(d);
    KILN_RETURN_IF_ERROR(CopyData(in.get(), out.get(), st.st_size));
    if (privileged_ && fchown(out.get(), st.st_uid, st.st_gid) != 0)
      return ErrnoStatus("chown", errno);
    if (fchmod(out.get(), st.st_mode & 07777) != 0)
      return ErrnoStatus("chmod", errno);
    KILN_RETURN_IF_ERROR(CopyXattrs(in.get(), out.get(), "", -1, -1));
    timespec times[2] = {st.st_atim, st.st_mtim};
    if (futimens(out.get(), times) != 0)
      return ErrnoStatus("setting times", errno);
    return Status::Ok();
  }

  static Status CopyData(int in, int out, off_t size) {
    if (size == 0 || ioctl(out, FICLONE, in) == 0) return Status::Ok();
    off_t done = 0;
    bool range_ok = true;
    while (done < size && range_ok) {
      ssize_t n = copy_file_range(in, nullptr, out, nullptr,
                                  static_cast<size_t>(size - done), 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL ||
                    errno == EOPNOTSUPP)) {
        range_ok = false;
        break;
      }
      if (n < 0) return ErrnoStatus("copying data", errno);
      if (n == 0) break;  // the source shrank
      done += n;
    }
    if (range_ok) return Status::Ok();
    char buf[64 * 1024];
    for (;;) {
      ssize_t n = read(in, buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoStatus("reading", errno);
      if (n == 0) return Status::Ok();
      for (ssize_t off = 0; off < n;) {
        ssize_t w = write(out, buf + off, static_cast<size_t>(n - off));
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) return ErrnoStatus("writing", errno);
        off += w;
      }
    }
  }

  // Copies xattrs from the fd `src_fd` to `dst_fd`, or, when those are -1,
  // of `name` in the directories src_dir and dst_dir without following it.
  Status CopyXattrs(int src_fd, int dst_fd, const std::string& name,
                    int src_dir, int dst_dir) {
    std::string src_path = src_fd < 0 ? ProcPath(src_dir, name) : "";
    std::string dst_path = dst_fd < 0 ? ProcPath(dst_dir, name) : "";
    std::string names(4096, '\0');
    ssize_t n = src_fd >= 0
                    ? flistxattr(src_fd, names.data(), names.size())
                    : llistxattr(src_path.c_str(), names.data(), names.size());
    if (n < 0 && errno == ERANGE) {
      names.resize(XATTR_LIST_MAX);
      n = src_fd >= 0
              ? flistxattr(src_fd, names.data(), names.size())
              : llistxattr(src_path.c_str(), names.data(), names.size());
    }
    if (n < 0)
      return errno == ENOTSUP ? Status::Ok()
                              : ErrnoStatus("listing xattrs", errno);
    if (value_.empty()) value_.resize(XATTR_SIZE_MAX);
    std::string& value = value_;
    for (size_t pos = 0; pos < static_cast<size_t>(n);) {
      std::string key(names.data() + pos);
      pos += key.size() + 1;
      ssize_t len = src_fd >= 0 ? fgetxattr(src_fd, key.c_str(), value.data(),
                                            value.size())
                                : lgetxattr(src_path.c_str(), key.c_str(),
                                            value.data(), value.size());
      if (len < 0) continue;  // removed meanwhile, or unreadable to us
      int r = dst_fd >= 0
                  ? fsetxattr(dst_fd, key.c_str(), value.data(),
                              static_cast<size_t>(len), 0)
                  : lsetxattr(dst_path.c_str(), key.c_str(), value.data(),
                              static_cast<size_t>(len), 0);
      if (r != 0 && errno != EPERM && errno != ENOTSUP) {
        return ErrnoStatus("setting xattr " + key, errno);
      }
    }
    return Status::Ok();
  }

  int dst_root_;
  bool privileged_;
  std::map<std::pair<dev_t, ino_t>, std::string>
      links_;          // first copy of each inode
  std::string value_;  // xattr value buffer
};

}  // namespace

Status CopyTree(const std::string& src, const std::string& dst) {
  bool privileged = geteuid() == 0;
  std::unique_lock<std::mutex> lock(unprivileged_copy_mu, std::defer_lock);
  if (!privileged) lock.lock();
  KILN_ASSIGN_OR_RETURN(UniqueFd src_parent, OpenDir(ParentDir(src)));
  std::string base = src.substr(src.find_last_of('/') + 1);
  struct stat st {};
  if (fstatat(src_parent.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return ErrnoStatus("stat of " + src, errno);
  if (!S_ISDIR(st.st_mode)) {
    return FailedPreconditionError("copying " + src + ": not a directory");
  }
  auto src_dir = OpenSource(src_parent.get(), base,
                            O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, st,
                            privileged);
  if (!src_dir.ok()) return src_dir.status().WithContext("copying " + src);
  KILN_ASSIGN_OR_RETURN(UniqueFd dst_fd, OpenDir(dst, O_NOFOLLOW));
  TreeCopier copier(dst_fd.get(), privileged);
  int src_fd = src_dir->fd.get();
  KILN_RETURN_IF_ERROR(copier.CopyDir(src_fd, dst_fd.get(), ""));
  KILN_RETURN_IF_ERROR(
      copier.FinishDir(src_fd, dst_fd.get(), st).WithContext("copying " + src));
  return src_dir->Restore().WithContext("copying " + src);
}

}  // namespace kiln::solver::internal
