// The node writers of LayerApplier (see unpack_apply.h): regular files,
// hardlinks, directories, symlinks, devices and FIFOs with their metadata,
// and missing parent directories.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <set>

#include "path_util.h"
#include "unpack_apply.h"

namespace kiln::solver::internal {

Status LayerApplier::WriteRegular(LayerStream& stream, int parent,
                                  const std::string& base,
                                  const EntryMeta& meta, archive_entry* entry) {
  int raw_fd =
      openat(parent, base.c_str(),
             O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (raw_fd < 0) return ErrnoStatus("creating file", errno);
  UniqueFd fd(raw_fd);
  KILN_RETURN_IF_ERROR(
      stream.ReadData([&](int64_t offset, const char* data, size_t size) {
        while (size > 0) {
          ssize_t n = pwrite(fd.get(), data, size, offset);
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) return ErrnoStatus("writing file", errno);
          data += n;
          size -= static_cast<size_t>(n);
          offset += n;
          stats_->bytes += n;
        }
        return Status::Ok();
      }));
  // Sparse files end in a hole that no data block covers.
  if (archive_entry_size_is_set(entry) &&
      ftruncate(fd.get(), archive_entry_size(entry)) != 0) {
    return ErrnoStatus("sizing file", errno);
  }
  if (privileged_ && fchown(fd.get(), meta.uid, meta.gid) != 0) {
    return ErrnoStatus("chown", errno);
  }
  // After chown, which clears setuid and setgid.
  if (fchmod(fd.get(), meta.mode) != 0) return ErrnoStatus("chmod", errno);
  KILN_RETURN_IF_ERROR(SetXattrs(fd.get(), parent, base, entry));
  timespec times[2] = {meta.atime, meta.mtime};
  if (futimens(fd.get(), times) != 0)
    return ErrnoStatus("setting times", errno);
  return Status::Ok();
}

Status LayerApplier::WriteHardlink(int parent, const std::string& base,
                                   const std::string& target) {
  auto clean = CleanPath(target);
  if (!clean || clean->empty()) {
    return InvalidArgumentError("hardlink target \"" + target +
                                "\" escapes the destination directory");
  }
  std::string target_base = clean->back();
  clean->pop_back();
  auto target_dir = OpenDirInRoot(root_fd_, *clean, Resolve(false));
  int err = 0;
  if (target_dir.ok()) {
    if (linkat(target_dir->get(), target_base.c_str(), parent, base.c_str(),
               0) == 0) {
      return Status::Ok();
    }
    err = errno;
  }
  if (!target_dir.ok() ? IsAbsence(target_dir.status())
                       : (err == ENOENT || err == ENOTDIR)) {
    return InvalidArgumentError("hardlink target \"" + target +
                                "\" does not exist");
  }
  if (!target_dir.ok()) return target_dir.status();
  return ErrnoStatus("linking to \"" + target + "\"", err);
}

Status LayerApplier::WriteDirectory(int parent, const std::string& base,
                                    const std::vector<std::string>& path,
                                    const EntryMeta& meta,
                                    archive_entry* entry) {
  if (mkdirat(parent, base.c_str(), 0700) != 0 && errno != EEXIST) {
    return ErrnoStatus("creating directory", errno);
  }
  int raw_fd = openat(parent, base.c_str(),
                      O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (raw_fd < 0) return ErrnoStatus("opening directory", errno);
  UniqueFd fd(raw_fd);
  if (privileged_ && fchown(fd.get(), meta.uid, meta.gid) != 0)
    return ErrnoStatus("chown", errno);
  // Writable by us until Finish() sets the final mode (a 0555 directory
  // would refuse its own entries when unprivileged).
  if (fchmod(fd.get(), meta.mode | S_IRWXU) != 0)
    return ErrnoStatus("chmod", errno);
  KILN_RETURN_IF_ERROR(SetXattrs(fd.get(), parent, base, entry));
  DeferDir(path, true, meta.mode, meta.atime, meta.mtime, true);
  return Status::Ok();
}

Status LayerApplier::WriteOther(int parent, const std::string& base,
                                mode_t type, const EntryMeta& meta,
                                archive_entry* entry,
                                const char* symlink_target) {
  if (type == S_IFLNK) {
    if (symlinkat(symlink_target, parent, base.c_str()) != 0) {
      return ErrnoStatus("creating symlink", errno);
    }
  } else if (mknodat(parent, base.c_str(), type | (meta.mode & 0777),
                     meta.rdev) != 0) {
    return ErrnoStatus("creating special file", errno);
  }
  if (privileged_ && fchownat(parent, base.c_str(), meta.uid, meta.gid,
                              AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus("chown", errno);
  }
  // Not a symlink, so fchmodat has nothing to follow.
  if (type != S_IFLNK && fchmodat(parent, base.c_str(), meta.mode, 0) != 0) {
    return ErrnoStatus("chmod", errno);
  }
  KILN_RETURN_IF_ERROR(SetXattrs(-1, parent, base, entry));
  timespec times[2] = {meta.atime, meta.mtime};
  if (utimensat(parent, base.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus("setting times", errno);
  }
  return Status::Ok();
}

Status LayerApplier::SetXattrs(int fd, int parent, const std::string& base,
                               archive_entry* entry) {
  if (archive_entry_xattr_reset(entry) == 0) return Status::Ok();
  const char* name = nullptr;
  const void* value = nullptr;
  size_t size = 0;
  std::set<std::string_view>
      seen;  // libarchive's own pax records repeat SCHILY's
  while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK) {
    std::string_view n = name;
    if (!seen.insert(n).second) continue;
    bool refused = n.starts_with("trusted.overlay.") ||
                   (!privileged_ &&
                    (n.starts_with("trusted.") || n.starts_with("security.")));
    if (refused) {
      ++stats_->skipped_xattrs;
      continue;
    }
    int r = fd >= 0 ? fsetxattr(fd, name, value, size, 0)
                    : lsetxattr(ProcPath(parent, base).c_str(), name, value,
                                size, 0);
    if (r == 0) continue;
    if (errno == EPERM || errno == EOPNOTSUPP || errno == ENOTSUP) {
      ++stats_->skipped_xattrs;
      continue;
    }
    return ErrnoStatus("setting xattr " + std::string(n), errno);
  }
  return Status::Ok();
}

Result<bool> LayerApplier::FindLowerDir(const std::string& rel,
                                        struct stat* out) {
  if (!lowers_opened_) {
    for (const std::string& dir : options_.lower_dirs) {
      auto fd = OpenDir(dir);
      if (!fd.ok()) return fd.status().WithContext("lower dir " + dir);
      lower_fds_.push_back(std::move(*fd));
    }
    lowers_opened_ = true;
  }
  auto path = CleanPath(rel);
  if (!path || path->empty()) return false;
  std::string base = path->back();
  path->pop_back();
  for (const UniqueFd& lower : lower_fds_) {
    // In root, as the layer's own paths: a lower symlink `a -> /` must not
    // make a/x name the host's /x.
    auto parent = OpenDirInRoot(lower.get(), *path, Resolve(false));
    if (!parent.ok()) {
      if (IsAbsence(parent.status())) continue;
      return parent.status().WithContext("resolving " + rel + " in lower dir");
    }
    if (fstatat(parent->get(), base.c_str(), out, AT_SYMLINK_NOFOLLOW) == 0 &&
        S_ISDIR(out->st_mode)) {
      return true;
    }
  }
  return false;
}

Status LayerApplier::MkdirMissing(int parent_fd, const std::string& name,
                                  const std::string& rel) {
  struct stat lower {};
  bool from_lower = false;
  if (options_.mode == LayerApplyMode::kOverlay) {
    KILN_ASSIGN_OR_RETURN(from_lower, FindLowerDir(rel, &lower));
  }
  if (mkdirat(parent_fd, name.c_str(), 0700) != 0) {
    return ErrnoStatus("creating parent directory " + rel, errno);
  }
  auto path = CleanPath(rel);
  if (!from_lower) {
    DeferDir(path.value_or(std::vector<std::string>{}), true, 0755, {}, {},
             false);
    return Status::Ok();
  }
  if (privileged_ && fchownat(parent_fd, name.c_str(), lower.st_uid,
                              lower.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus("chown of parent directory " + rel, errno);
  }
  DeferDir(path.value_or(std::vector<std::string>{}), true,
           lower.st_mode & 07777, lower.st_atim, lower.st_mtim, true);
  return Status::Ok();
}

}  // namespace kiln::solver::internal
