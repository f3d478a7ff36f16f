// Pruning the solver's cache with BuildKit's semantics (gc.h).
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "fs_util.h"
#include "http_source_cache.h"
#include "image_store_layout.h"
#include "solver_gc_internal.h"
#include "solver_impl.h"

namespace kiln::solver::internal {
namespace {

int64_t UsedAt(const UsageRecord& u) {
  return u.last_used_at_ns != 0 ? u.last_used_at_ns : u.created_at_ns;
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool HasSizeLimit(const PruneOptions& o) {
  return o.max_used_space > 0 || o.reserved_space > 0 || o.min_free_space > 0;
}

// BuildKit's calculateKeepBytes: the cache total to prune down to.
int64_t KeepBytes(int64_t total, int64_t free, const PruneOptions& o) {
  int64_t keep = o.max_used_space;  // 0: no cap
  const int64_t excess =
      o.min_free_space > 0 && free >= 0 ? o.min_free_space - free : 0;
  if (excess > 0) {
    keep = keep == 0 ? total - excess : std::min(keep, total - excess);
  } else if (keep == 0 && o.reserved_space == 0) {
    return total;  // only min_free_space, and the disk has it free
  }
  return std::max(keep, o.reserved_space);
}

// Moves `path` into the GC trash (so a crash leaves nothing half-deleted
// in place: Open empties the trash), then deletes it.
Status TrashAndDelete(const SolverDirs& dirs, const std::string& path) {
  const std::string trash = GcTrashDir(dirs) + "/" + RandomNonce();
  KILN_RETURN_IF_ERROR(MakeDirs(GcTrashDir(dirs), "gc trash"));
  if (rename(path.c_str(), trash.c_str()) != 0) {
    if (errno == ENOENT) return Status::Ok();
    return ErrnoError("moving to the gc trash", path, errno);
  }
  return RemoveTree(trash, /*force_writable=*/true);
}

// Deletes layer blob `digest` when no layer record and no image needs it
// and no BlobLease is held (else it stays for CleanGcLeftovers).
void DeleteBlobIfUnused(SolverImpl& solver, const Digest& digest) {
  ImageStore& images = *solver.options().images;
  auto sweep = LockGc(images.dir(), /*exclusive=*/true);
  if (!sweep.ok() || !sweep->valid()) return;
  auto layers = solver.index().LayerDigests();
  if (!layers.ok()) return;
  for (const auto& [snapshot, d] : *layers) {
    if (d == digest) return;
  }
  auto named = ImageBlobNames(images);
  if (!named.ok() || named->contains(digest)) return;
  images.content().Delete(digest).IgnoreError();
}

Status AppendPendingBlob(const SolverDirs& dirs, const Digest& digest) {
  KILN_RETURN_IF_ERROR(MakeDirs(GcTrashDir(dirs), "gc trash"));
  const std::string path = GcPendingBlobsFile(dirs);
  UniqueFd fd(
      open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoError("opening", path, errno);
  std::string line = digest.str() + "\n";
  if (write(fd.get(), line.data(), line.size()) !=
          static_cast<ssize_t>(line.size()) ||
      fsync(fd.get()) != 0) {
    return ErrnoError("writing", path, errno);
  }
  return Status::Ok();
}

// Removes one snapshot record inside an exclusive GC section (see
// solver_gc_guard.h): FailedPrecondition when a solve holds it or another
// snapshot builds on it now. The index forgets it before its files go.
Status RemoveSnapshot(SolverImpl& solver, const GcRecord& r) {
  Snapshotter& snapshots = *solver.options().snapshots;
  {
    std::unique_lock<std::shared_mutex> section(solver.gc().lock());
    if (solver.gc().Held().contains(r.name)) {
      return FailedPreconditionError("snapshot " + r.name + " is in use");
    }
    KILN_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> all, snapshots.List());
    for (const SnapshotInfo& info : all) {
      if (info.parent == r.name) {
        return FailedPreconditionError("snapshot " + r.name + " has children");
      }
    }
    if (r.blob) KILN_RETURN_IF_ERROR(AppendPendingBlob(solver.dirs(), *r.blob));
    KILN_RETURN_IF_ERROR(solver.index().ForgetSnapshot(r.name));
    Status removed = snapshots.Remove(r.name);
    if (!removed.ok() && removed.code() != StatusCode::kNotFound) {
      return removed;
    }
  }
  if (r.blob) DeleteBlobIfUnused(solver, *r.blob);
  return Status::Ok();
}

Status RemoveGit(SolverImpl& solver, const GcRecord& r) {
  UniqueFd lock(
      open((r.name + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (!lock.valid()) return ErrnoError("opening", r.name + ".lock", errno);
  if (flock(lock.get(), LOCK_EX | LOCK_NB) != 0) {
    return FailedPreconditionError("git mirror " + r.name + " is in use");
  }
  return TrashAndDelete(solver.dirs(), r.name);
}

Status RemoveHttp(SolverImpl& solver, const GcRecord& r) {
  const std::string urls = solver.dirs().http + "/http/urls";
  const std::string hex = r.name.substr(r.name.rfind('/') + 1);
  if (auto names = ListDir(urls); names.ok()) {
    for (const std::string& name : *names) {
      auto record = LoadHttpCacheRecord(urls + "/" + name);
      if (record && record->content.hex() == hex) {
        unlink((urls + "/" + name).c_str());
      }
    }
  }
  return TrashAndDelete(solver.dirs(), r.name);
}

Status RemoveRecord(SolverImpl& solver, const GcRecord& r) {
  switch (r.kind) {
    case GcKind::kSnapshot:
      return RemoveSnapshot(solver, r);
    case GcKind::kCacheMount:
      return solver.cache_mounts().Remove(r.name);
    case GcKind::kLocal: {
      const std::string trash = GcTrashDir(solver.dirs()) + "/" + RandomNonce();
      KILN_RETURN_IF_ERROR(MakeDirs(GcTrashDir(solver.dirs()), "gc trash"));
      KILN_RETURN_IF_ERROR(solver.TrashLocalBase(r.name, trash));
      solver.index().ForgetUsage(LocalUsageName(r.name)).IgnoreError();
      return RemoveTree(trash, /*force_writable=*/true);
    }
    case GcKind::kGit:
      return RemoveGit(solver, r);
    case GcKind::kHttp:
      return RemoveHttp(solver, r);
  }
  return InternalError("unknown gc record kind");
}

}  // namespace

Result<std::vector<UsageRecord>> RunPrune(SolverImpl& solver,
                                          const PruneOptions& o) {
  KILN_ASSIGN_OR_RETURN(GcFilter filter, GcFilter::Parse(o.filters));
  KILN_ASSIGN_OR_RETURN(std::vector<GcRecord> records, ScanGc(solver));
  const int64_t now = NowNs();
  int64_t total = 0;
  std::map<std::string, int> children;  // snapshot → snapshots on it
  for (const GcRecord& r : records) {
    total += r.usage.size;
    if (r.kind == GcKind::kSnapshot && !r.parent.empty()) ++children[r.parent];
  }
  std::vector<const GcRecord*> candidates;
  for (const GcRecord& r : records) {
    const UsageRecord& u = r.usage;
    if (!r.removable || u.in_use || (!o.all && u.shared)) continue;
    if (o.keep_duration_ns > 0 && UsedAt(u) > now - o.keep_duration_ns) {
      continue;
    }
    if (filter.Matches(u, now)) candidates.push_back(&r);
  }
  // Least recently used first, then least used.
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const GcRecord* a, const GcRecord* b) {
                     if (UsedAt(a->usage) != UsedAt(b->usage)) {
                       return UsedAt(a->usage) < UsedAt(b->usage);
                     }
                     return a->usage.usage_count < b->usage.usage_count;
                   });
  const bool limited = HasSizeLimit(o);
  const int64_t keep =
      limited ? KeepBytes(total, FreeBytes(solver.options().root), o) : 0;
  std::vector<UsageRecord> removed;
  std::vector<bool> done(candidates.size(), false);
  // Rounds: a parent becomes removable once its children are gone.
  for (bool progress = true; progress;) {
    progress = false;
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (limited && total <= keep) return removed;
      const GcRecord& r = *candidates[i];
      if (done[i] || (r.kind == GcKind::kSnapshot && children[r.name] > 0)) {
        continue;
      }
      done[i] = true;
      Status s = RemoveRecord(solver, r);
      if (s.code() == StatusCode::kFailedPrecondition ||
          s.code() == StatusCode::kNotFound) {
        continue;  // in use (or gone) since the scan
      }
      if (!s.ok()) return s.WithContext("pruning " + r.usage.description);
      total -= r.usage.size;
      if (r.kind == GcKind::kSnapshot && !r.parent.empty()) {
        --children[r.parent];
      }
      removed.push_back(r.usage);
      progress = true;
    }
  }
  return removed;
}

}  // namespace kiln::solver::internal
