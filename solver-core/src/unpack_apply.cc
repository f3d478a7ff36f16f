#include "unpack_apply.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>

#include "path_util.h"

namespace kiln::solver::internal {
namespace {

constexpr std::string_view kWhiteoutPrefix = ".wh.";
constexpr std::string_view kWhiteoutMetaPrefix = ".wh..wh.";
constexpr std::string_view kWhiteoutOpaque = ".wh..wh..opq";
constexpr const char* kOverlayOpaqueXattr = "trusted.overlay.opaque";

// libarchive converts names to the locale's charset; in the C locale a
// UTF-8 pax name may not convert, and then only the UTF-8 form exists.
std::string EntryString(const char* mbs, const char* utf8) {
  if (mbs != nullptr) return mbs;
  return utf8 != nullptr ? utf8 : "";
}

Result<UniqueFd> Reopen(int path_fd, const char* what) {
  int fd = openat(path_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(what, errno);
  return UniqueFd(fd);
}

}  // namespace

LayerApplier::LayerApplier(int root_fd, const ApplyOptions& options,
                           bool privileged, UnpackStats* stats)
    : root_fd_(root_fd),
      options_(options),
      privileged_(privileged),
      stats_(stats) {
  mkdir_fn_ = [this](int parent_fd, const std::string& name,
                     const std::string& rel) {
    return MkdirMissing(parent_fd, name, rel);
  };
}

ResolveOptions LayerApplier::Resolve(bool create) const {
  return ResolveOptions{.mkdir = create ? &mkdir_fn_ : nullptr,
                        .portable = options_.force_portable_resolve};
}

Status LayerApplier::Apply(LayerStream& stream, archive_entry* entry) {
  EntryMeta meta;
  meta.name = EntryString(archive_entry_pathname(entry),
                          archive_entry_pathname_utf8(entry));
  ++stats_->entries;
  auto path = CleanPath(meta.name);
  if (!path) {
    return InvalidArgumentError("layer entry \"" + meta.name +
                                "\": path escapes the destination directory");
  }
  if (path->empty())
    return Status::Ok();  // the root itself keeps its metadata (containerd)
  meta.mode = archive_entry_perm(entry) & 07777;
  meta.uid = static_cast<uid_t>(archive_entry_uid(entry));
  meta.gid = static_cast<gid_t>(archive_entry_gid(entry));
  meta.mtime = {archive_entry_mtime(entry), archive_entry_mtime_nsec(entry)};
  meta.atime = meta.mtime;
  if (archive_entry_atime_is_set(entry)) {
    meta.atime = {archive_entry_atime(entry), archive_entry_atime_nsec(entry)};
  }
  meta.rdev = archive_entry_rdev(entry);

  std::string base = path->back();
  Status s;
  if (base.starts_with(kWhiteoutPrefix)) {
    path->pop_back();
    s = ApplyWhiteout(*path, base, meta);
  } else {
    s = ApplyNode(stream, entry, *path, meta);
  }
  return s.WithContext("layer entry \"" + meta.name + "\"");
}

Status LayerApplier::ApplyWhiteout(const std::vector<std::string>& dir,
                                   const std::string& base,
                                   const EntryMeta& meta) {
  bool overlay = options_.mode == LayerApplyMode::kOverlay;
  if (base == kWhiteoutOpaque) {
    ++stats_->whiteouts;
    if (!overlay) return MakeOpaqueInPlace(dir);
    KILN_ASSIGN_OR_RETURN(UniqueFd path_fd,
                          OpenDirInRoot(root_fd_, dir, Resolve(true)));
    KILN_ASSIGN_OR_RETURN(UniqueFd dir_fd,
                          Reopen(path_fd.get(), "opening opaque directory"));
    if (fsetxattr(dir_fd.get(), kOverlayOpaqueXattr, "y", 1, 0) != 0) {
      return ErrnoStatus("setting trusted.overlay.opaque", errno);
    }
    return Status::Ok();
  }
  if (base.starts_with(kWhiteoutMetaPrefix))
    return Status::Ok();  // other AUFS metadata
  std::string name = base.substr(kWhiteoutPrefix.size());
  if (name.empty() || name == "." || name == "..") {
    return InvalidArgumentError("invalid whiteout name");
  }
  ++stats_->whiteouts;
  if (!overlay) {
    auto parent = OpenDirInRoot(root_fd_, dir, Resolve(false));
    if (!parent.ok())
      return IsAbsence(parent.status()) ? Status::Ok() : parent.status();
    return RemoveTreeAt(parent->get(), name, !privileged_);
  }
  KILN_ASSIGN_OR_RETURN(UniqueFd parent,
                        OpenDirInRoot(root_fd_, dir, Resolve(true)));
  KILN_RETURN_IF_ERROR(RemoveTreeAt(parent.get(), name));
  if (mknodat(parent.get(), name.c_str(), S_IFCHR, makedev(0, 0)) != 0) {
    return ErrnoStatus("creating whiteout device for " + name, errno);
  }
  if (privileged_ && fchownat(parent.get(), name.c_str(), meta.uid, meta.gid,
                              AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus("chown of whiteout " + name, errno);
  }
  return Status::Ok();
}

Status LayerApplier::MakeOpaqueInPlace(const std::vector<std::string>& dir) {
  auto path_fd = OpenDirInRoot(root_fd_, dir, Resolve(false));
  if (!path_fd.ok())
    return IsAbsence(path_fd.status()) ? Status::Ok() : path_fd.status();
  KILN_ASSIGN_OR_RETURN(UniqueFd dir_fd,
                        Reopen(path_fd->get(), "opening opaque directory"));
  return PruneUnpacked(dir_fd.get(), JoinPath(dir));
}

Status LayerApplier::PruneUnpacked(int dir_fd, const std::string& rel) {
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDirAt(dir_fd, rel));
  for (const std::string& name : names) {
    std::string child_rel = rel.empty() ? name : rel + "/" + name;
    if (!unpacked_.contains(child_rel)) {
      KILN_RETURN_IF_ERROR(RemoveTreeAt(dir_fd, name, !privileged_));
      continue;
    }
    int child = openat(dir_fd, name.c_str(),
                       O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (child < 0) continue;  // not a directory: nothing below it to hide
    UniqueFd child_fd(child);
    KILN_RETURN_IF_ERROR(PruneUnpacked(child_fd.get(), child_rel));
  }
  return Status::Ok();
}

Status LayerApplier::ApplyNode(LayerStream& stream, archive_entry* entry,
                               const std::vector<std::string>& path,
                               const EntryMeta& meta) {
  std::vector<std::string> dir(path.begin(), path.end() - 1);
  const std::string& base = path.back();
  KILN_ASSIGN_OR_RETURN(UniqueFd parent,
                        OpenDirInRoot(root_fd_, dir, Resolve(true)));
  mode_t type = archive_entry_filetype(entry);
  const char* hardlink = archive_entry_hardlink(entry);
  if (hardlink == nullptr) hardlink = archive_entry_hardlink_utf8(entry);

  struct stat st {};
  bool exists =
      fstatat(parent.get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
  bool merge_dir =
      exists && S_ISDIR(st.st_mode) && type == AE_IFDIR && hardlink == nullptr;
  if (exists && !merge_dir) {
    KILN_RETURN_IF_ERROR(RemoveTreeAt(parent.get(), base, !privileged_));
  }
  // The parents too: those the layer did not list were created for it (or
  // are lower directories it writes into), and an opaque marker later in
  // the stream must not prune them with the entry inside.
  for (size_t n = 1; n <= path.size(); ++n) unpacked_.insert(JoinPath(path, n));
  if (!privileged_ && hardlink == nullptr &&
      (meta.uid != geteuid() || meta.gid != getegid())) {
    ++stats_->skipped_chowns;
  }

  if (hardlink != nullptr) return WriteHardlink(parent.get(), base, hardlink);
  switch (type) {
    case AE_IFREG:
      return WriteRegular(stream, parent.get(), base, meta, entry);
    case AE_IFDIR:
      return WriteDirectory(parent.get(), base, path, meta, entry);
    case AE_IFLNK: {
      std::string target = EntryString(archive_entry_symlink(entry),
                                       archive_entry_symlink_utf8(entry));
      return WriteOther(parent.get(), base, S_IFLNK, meta, entry,
                        target.c_str());
    }
    case AE_IFCHR:
    case AE_IFBLK:
      if (!privileged_) {
        ++stats_->skipped_devices;
        return Status::Ok();
      }
      return WriteOther(parent.get(), base,
                        type == AE_IFCHR ? S_IFCHR : S_IFBLK, meta, entry,
                        nullptr);
    case AE_IFIFO:
      return WriteOther(parent.get(), base, S_IFIFO, meta, entry, nullptr);
    default:
      return InvalidArgumentError("unsupported entry type " +
                                  std::to_string(type));
  }
}

void LayerApplier::DeferDir(const std::vector<std::string>& path, bool set_mode,
                            mode_t mode, const timespec& atime,
                            const timespec& mtime, bool set_times) {
  if (path.empty()) return;
  DirMeta meta{path, set_mode, mode, set_times, atime, mtime};
  auto [it, inserted] = dir_index_.emplace(JoinPath(path), dirs_.size());
  if (inserted) {
    dirs_.push_back(std::move(meta));
  } else {
    dirs_[it->second] = std::move(meta);
  }
}

Status LayerApplier::Finish() {
  // Deepest (latest seen) first; a later entry may have replaced or removed
  // a directory, which then has nothing to set.
  for (auto it = dirs_.rbegin(); it != dirs_.rend(); ++it) {
    std::vector<std::string> dir(it->path.begin(), it->path.end() - 1);
    auto parent = OpenDirInRoot(root_fd_, dir, Resolve(false));
    if (!parent.ok()) {
      if (IsAbsence(parent.status())) continue;
      return parent.status();
    }
    int raw_fd = openat(parent->get(), it->path.back().c_str(),
                        O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (raw_fd < 0) continue;
    UniqueFd fd(raw_fd);
    std::string where = JoinPath(it->path);
    if (it->set_mode && fchmod(fd.get(), it->mode) != 0) {
      return ErrnoStatus("chmod of directory " + where, errno);
    }
    timespec times[2] = {it->atime, it->mtime};
    if (it->set_times && futimens(fd.get(), times) != 0) {
      return ErrnoStatus("setting times of directory " + where, errno);
    }
  }
  return Status::Ok();
}

}  // namespace kiln::solver::internal
