// OpenSnapshotter: locks a root, loads or creates its metadata, picks the
// snapshotter kind (probing overlayfs for kAuto) and removes what a crash
// left behind.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "kiln/solver/snapshotter.h"
#include "snapshot_base.h"

namespace kiln::solver {
namespace {

using internal::ErrnoStatus;
using internal::SnapshotMetadata;
using internal::UniqueFd;

// Removes snapshots/<id> directories without a record and temp files of
// interrupted metadata writes.
Status RemoveLeftovers(const std::string& root, const SnapshotMetadata& meta) {
  std::set<std::string> live;
  for (const auto& [name, rec] : meta.snapshots) {
    if (rec.id != 0) live.insert(std::to_string(rec.id));
  }
  std::error_code ec;
  for (const auto& e :
       std::filesystem::directory_iterator(root + "/snapshots", ec)) {
    std::string name = e.path().filename().string();
    if (live.contains(name)) continue;
    KILN_RETURN_IF_ERROR(internal::RemoveTree(e.path().string(), true));
  }
  if (ec)
    return InternalError("listing " + root + "/snapshots: " + ec.message());
  for (const auto& e : std::filesystem::directory_iterator(root, ec)) {
    std::string name = e.path().filename().string();
    if (name.starts_with("metadata.json.tmp-") || name.starts_with("probe-")) {
      KILN_RETURN_IF_ERROR(internal::RemoveTree(e.path().string(), true));
    }
  }
  if (ec) return InternalError("listing " + root + ": " + ec.message());
  return Status::Ok();
}

// The overlay snapshotter's short links (root/l/<name>, see snapshot_base.h):
// creates the directory, removes links without a record and makes the
// missing ones (a crash between link and record, or a root from before
// links existed).
Status SyncShortLinks(const std::string& root, const SnapshotMetadata& meta) {
  std::string dir = root + "/" + internal::kLinkDir;
  KILN_RETURN_IF_ERROR(internal::MakeDirs(dir, "snapshot links in " + root));
  std::map<std::string, int64_t> live;
  for (const auto& [name, rec] : meta.snapshots) {
    if (rec.id != 0) live.emplace(internal::ShortLinkName(rec.id), rec.id);
  }
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, internal::ListDir(dir));
  for (const std::string& name : names) {
    if (live.contains(name)) continue;
    KILN_RETURN_IF_ERROR(internal::RemoveTree(dir + "/" + name, true));
  }
  for (const auto& [name, id] : live) {
    std::string link = dir + "/" + name;
    std::string target = internal::ShortLinkTarget(id);
    if (symlink(target.c_str(), link.c_str()) == 0 || errno == EEXIST) continue;
    return ErrnoStatus("creating " + link, errno);
  }
  return Status::Ok();
}

Result<UniqueFd> LockRoot(const std::string& root) {
  std::string path = root + "/lock";
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("opening " + path, errno);
  UniqueFd lock(fd);
  if (flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return FailedPreconditionError("snapshotter root " + root +
                                     " is in use by another snapshotter");
    }
    return ErrnoStatus("locking " + path, errno);
  }
  return lock;
}

}  // namespace

std::string_view SnapshotterKindName(SnapshotterKind kind) {
  switch (kind) {
    case SnapshotterKind::kAuto:
      return "auto";
    case SnapshotterKind::kOverlay:
      return "overlay";
    case SnapshotterKind::kCopy:
      return "copy";
  }
  return "auto";
}

namespace internal {

Status ProbeOverlay(const std::string& root) {
  if (geteuid() != 0)
    return FailedPreconditionError("overlay snapshotter needs root");
  std::string dir = root + "/probe-" + RandomNonce();
  if (mkdir(dir.c_str(), 0700) != 0)
    return ErrnoStatus("creating " + dir, errno);
  Status result;
  for (const char* sub : {"/l1", "/l2", "/upper", "/work", "/merged"}) {
    if (mkdir((dir + sub).c_str(), 0700) != 0)
      result = ErrnoStatus("creating " + dir + sub, errno);
  }
  if (result.ok()) {
    std::string merged = dir + "/merged";
    std::string opts = "lowerdir=" + dir + "/l2:" + dir +
                       "/l1,upperdir=" + dir + "/upper,workdir=" + dir +
                       "/work";
    if (mount("overlay", merged.c_str(), "overlay", 0, opts.c_str()) != 0) {
      result = FailedPreconditionError("overlayfs is not usable under " + root +
                                       ": mount: " + std::strerror(errno));
    } else if (umount2(merged.c_str(), 0) != 0) {
      umount2(merged.c_str(), MNT_DETACH);
    }
  }
  Status removed = RemoveTree(dir, true);
  KILN_RETURN_IF_ERROR(result);
  return removed;
}

}  // namespace internal

Result<std::unique_ptr<Snapshotter>> OpenSnapshotter(
    const std::string& root_arg, SnapshotterKind kind) {
  std::error_code ec;
  // Absolute: mount options name these directories for whoever mounts them.
  std::string root =
      std::filesystem::absolute(root_arg, ec).lexically_normal().string();
  if (ec || root_arg.empty())
    return InvalidArgumentError("bad snapshotter root \"" + root_arg + "\"");
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  KILN_RETURN_IF_ERROR(
      internal::MakeDirs(root + "/snapshots", "snapshotter root " + root));
  KILN_ASSIGN_OR_RETURN(UniqueFd lock, LockRoot(root));

  std::string meta_path = root + "/metadata.json";
  KILN_ASSIGN_OR_RETURN(std::optional<SnapshotMetadata> loaded,
                        internal::LoadSnapshotMetadata(meta_path));
  SnapshotMetadata meta;
  if (loaded) {
    meta = std::move(*loaded);
    if (kind != SnapshotterKind::kAuto && kind != meta.kind) {
      return FailedPreconditionError(
          "snapshotter root " + root + " holds " +
          std::string(SnapshotterKindName(meta.kind)) + " snapshots, not " +
          std::string(SnapshotterKindName(kind)));
    }
    if (meta.kind == SnapshotterKind::kOverlay) {
      KILN_RETURN_IF_ERROR(internal::ProbeOverlay(root));
    }
  } else if (kind == SnapshotterKind::kAuto) {
    meta.kind = internal::ProbeOverlay(root).ok() ? SnapshotterKind::kOverlay
                                                  : SnapshotterKind::kCopy;
  } else {
    if (kind == SnapshotterKind::kOverlay)
      KILN_RETURN_IF_ERROR(internal::ProbeOverlay(root));
    meta.kind = kind;
  }
  KILN_RETURN_IF_ERROR(RemoveLeftovers(root, meta));
  if (meta.kind == SnapshotterKind::kOverlay)
    KILN_RETURN_IF_ERROR(SyncShortLinks(root, meta));
  if (!loaded)
    KILN_RETURN_IF_ERROR(internal::SaveSnapshotMetadata(meta_path, meta));
  if (meta.kind == SnapshotterKind::kOverlay) {
    return internal::NewOverlaySnapshotter(root, std::move(lock),
                                           std::move(meta));
  }
  return internal::NewCopySnapshotter(root, std::move(lock), std::move(meta));
}

}  // namespace kiln::solver
