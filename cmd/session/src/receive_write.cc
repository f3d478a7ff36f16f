#include "receive_write.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "fs_at.h"

namespace kiln::session::internal {

using fsutil::types::Stat;

timespec Nanos(int64_t ns) {
  timespec ts{};
  ts.tv_sec = ns / 1000000000;
  ts.tv_nsec = ns % 1000000000;
  if (ts.tv_nsec < 0) {
    ts.tv_nsec += 1000000000;
    ts.tv_sec -= 1;
  }
  return ts;
}

int64_t MtimeNs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 +
         st.st_mtim.tv_nsec;
}

Status SetAttrsAt(int pfd, const std::string& name, const Stat& st,
                  uint32_t mode, bool chown, const std::string& where) {
  if (chown && fchownat(pfd, name.c_str(), st.uid(), st.gid(),
                        AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError("setting the owner of " + where, errno);
  }
  if (!S_ISLNK(mode) && fchmodat(pfd, name.c_str(), mode & 07777, 0) != 0) {
    return ErrnoError("setting the mode of " + where, errno);
  }
  timespec times[2] = {{0, UTIME_OMIT}, Nanos(st.modtime())};
  if (utimensat(pfd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoError("setting the mtime of " + where, errno);
  }
  return Status::Ok();
}

Status ReplaceSpecialAt(int pfd, const std::string& name, const Stat& st,
                        uint32_t mode, bool chown, const std::string& where) {
  std::string tmp = TempName(name);
  if (S_ISLNK(mode)) {
    if (symlinkat(st.linkname().c_str(), pfd, tmp.c_str()) != 0) {
      return ErrnoError("creating symlink " + where, errno);
    }
  } else if (mknodat(pfd, tmp.c_str(), mode,
                     makedev(st.devmajor(), st.devminor())) != 0) {
    return ErrnoError("creating " + where, errno);
  }
  Status s = SetAttrsAt(pfd, tmp, st, mode, chown, where);
  if (s.ok() && renameat(pfd, tmp.c_str(), pfd, name.c_str()) != 0) {
    s = ErrnoError("renaming into " + where, errno);
  }
  if (!s.ok()) unlinkat(pfd, tmp.c_str(), 0);
  return s;
}

Result<bool> LinkAt(int root_fd, const std::string& dest, const Stat& st) {
  const std::string where = dest + "/" + st.path();
  auto [parent, name] = SplitParent(st.path());
  auto [tparent, tname] = SplitParent(st.linkname());
  KILN_ASSIGN_OR_RETURN(Fd pfd, OpenDirBelow(root_fd, parent));
  KILN_ASSIGN_OR_RETURN(Fd tfd, OpenDirBelow(root_fd, tparent));
  struct stat cur {};
  struct stat target {};
  if (fstatat(tfd.get(), tname.c_str(), &target, AT_SYMLINK_NOFOLLOW) != 0 ||
      !S_ISREG(target.st_mode)) {
    return InvalidArgumentError("diffcopy: invalid entry \"" + st.path() +
                                "\": hard link target is not a file");
  }
  if (fstatat(pfd.get(), name.c_str(), &cur, AT_SYMLINK_NOFOLLOW) == 0 &&
      cur.st_ino == target.st_ino && cur.st_dev == target.st_dev) {
    return false;
  }
  std::string tmp = TempName(name);
  if (linkat(tfd.get(), tname.c_str(), pfd.get(), tmp.c_str(), 0) != 0) {
    return ErrnoError("linking " + where, errno);
  }
  if (renameat(pfd.get(), tmp.c_str(), pfd.get(), name.c_str()) != 0) {
    int err = errno;
    unlinkat(pfd.get(), tmp.c_str(), 0);
    return ErrnoError("renaming into " + where, err);
  }
  return true;
}

}  // namespace kiln::session::internal
