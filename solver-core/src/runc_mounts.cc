#include "runc_mounts.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include "path_util.h"
#include "unpack_resolve.h"

namespace kiln::solver::internal {
namespace {

struct ParsedOptions {
  unsigned long flags = 0;
  std::string data;
  bool bind = false;
};

ParsedOptions ParseOptions(const solver::Mount& m) {
  static const std::pair<const char*, unsigned long> kFlags[] = {
      {"ro", MS_RDONLY},         {"nosuid", MS_NOSUID},
      {"nodev", MS_NODEV},       {"noexec", MS_NOEXEC},
      {"sync", MS_SYNCHRONOUS},  {"noatime", MS_NOATIME},
      {"relatime", MS_RELATIME}, {"strictatime", MS_STRICTATIME},
      {"bind", MS_BIND},         {"rbind", MS_BIND | MS_REC}};
  ParsedOptions out;
  out.bind = m.type == "bind";
  for (const std::string& o : m.options) {
    if (o == "rw") continue;
    bool is_flag = false;
    for (const auto& [name, flag] : kFlags) {
      if (o == name) {
        out.flags |= flag;
        is_flag = true;
      }
    }
    if (is_flag) continue;
    if (!out.data.empty()) out.data += ',';
    out.data += o;
  }
  if (out.flags & MS_BIND) out.bind = true;
  return out;
}

}  // namespace

Status MountStack::Mount(const solver::Mount& m, const std::string& target) {
  ParsedOptions p = ParseOptions(m);
  std::string what = "mounting " + m.type + " on " + target;
  if (p.bind) {
    unsigned long bind_flags = MS_BIND | (p.flags & MS_REC);
    if (mount(m.source.c_str(), target.c_str(), nullptr, bind_flags, nullptr) !=
        0) {
      return ErrnoError(what + " from", m.source, errno);
    }
    targets_.push_back(target);
    unsigned long extra = p.flags & ~(MS_BIND | MS_REC);
    if (extra != 0 && mount(nullptr, target.c_str(), nullptr,
                            MS_REMOUNT | MS_BIND | extra, nullptr) != 0) {
      int err = errno;
      umount2(target.c_str(), MNT_DETACH);
      targets_.pop_back();
      return ErrnoError("remounting read-only", target, err);
    }
    return Status::Ok();
  }
  if (mount(m.source.c_str(), target.c_str(), m.type.c_str(), p.flags,
            p.data.empty() ? nullptr : p.data.c_str()) != 0) {
    return ErrnoError(what + " from", m.source, errno);
  }
  targets_.push_back(target);
  return Status::Ok();
}

Status MountStack::UnmountAll() {
  Status first;
  while (!targets_.empty()) {
    std::string t = std::move(targets_.back());
    targets_.pop_back();
    if (umount2(t.c_str(), 0) == 0) continue;
    int err = errno;
    if (err == EBUSY && umount2(t.c_str(), MNT_DETACH) == 0) continue;
    if (first.ok()) first = ErrnoError("unmounting", t, err);
  }
  return first;
}

Result<MountStubs> MountStubs::Open(const std::string& rootfs) {
  KILN_ASSIGN_OR_RETURN(UniqueFd root, OpenDir(rootfs));
  return MountStubs(std::move(root));
}

Status MountStubs::Ensure(const std::string& path, bool file) {
  std::vector<std::string> comps = SplitPath(path);
  if (comps.empty()) return Status::Ok();
  std::string name = comps.back();
  comps.pop_back();
  bool read_only = false;
  MkdirFn mkdir_fn = [&](int parent_fd, const std::string& dir,
                         const std::string& rel) -> Status {
    if (mkdirat(parent_fd, dir.c_str(), 0755) != 0) {
      if (errno == EROFS) read_only = true;
      return ErrnoStatus("creating mountpoint /" + rel, errno);
    }
    created_.push_back(rel);
    return Status::Ok();
  };
  ResolveOptions options;
  options.mkdir = &mkdir_fn;
  auto parent = OpenDirInRoot(root_.get(), comps, options);
  if (!parent.ok()) {
    if (read_only) return Status::Ok();
    return parent.status();
  }
  struct stat st {};
  if (fstatat(parent->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    return Status::Ok();
  }
  if (errno != ENOENT) return ErrnoStatus("checking mountpoint " + path, errno);
  // The resolved parent's path (it may differ from the lexical one when a
  // parent is a symlink): /proc tells us, relative to the root.
  auto fd_path = [](int fd) {
    char buf[4096];
    std::string proc = "/proc/self/fd/" + std::to_string(fd);
    ssize_t n = readlink(proc.c_str(), buf, sizeof(buf));
    return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
  };
  std::string root_path = fd_path(root_.get());
  std::string parent_path = fd_path(parent->get());
  if (root_path.empty() || parent_path.rfind(root_path, 0) != 0) {
    return InternalError("resolving mountpoint " + path);
  }
  std::string rel = parent_path.substr(root_path.size());
  rel = JoinPath(SplitPath(rel + "/" + name));
  int rc;
  if (file) {
    rc = openat(parent->get(), name.c_str(),
                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (rc >= 0) close(rc);
  } else {
    rc = mkdirat(parent->get(), name.c_str(), 0755);
  }
  if (rc < 0) {
    if (errno == EROFS || errno == EEXIST) return Status::Ok();
    return ErrnoStatus("creating mountpoint " + path, errno);
  }
  created_.push_back(rel);
  return Status::Ok();
}

Status MountStubs::RemoveAll() {
  Status first;
  while (!created_.empty()) {
    std::string rel = std::move(created_.back());
    created_.pop_back();
    std::vector<std::string> comps = SplitPath(rel);
    std::string name = comps.back();
    comps.pop_back();
    auto parent = OpenDirInRoot(root_.get(), comps, {});
    if (!parent.ok()) continue;  // the process removed or replaced it
    struct stat st {};
    if (fstatat(parent->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      continue;
    }
    int rc = 0;
    if (S_ISDIR(st.st_mode)) {
      rc = unlinkat(parent->get(), name.c_str(), AT_REMOVEDIR);
    } else if (S_ISREG(st.st_mode) && st.st_size == 0) {
      rc = unlinkat(parent->get(), name.c_str(), 0);
    }
    if (rc != 0 && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT &&
        first.ok()) {
      first = ErrnoStatus("removing mount stub /" + rel, errno);
    }
  }
  return first;
}

}  // namespace kiln::solver::internal
