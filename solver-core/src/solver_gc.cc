// Solver::DiskUsage and Solver::Prune (gc.h), the holds that keep GC away
// from running solves (solver_gc_guard.h) and the automatic GC policies.
#include <cstdio>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <sstream>
#include <string>
#include <vector>

#include "fs_util.h"
#include "solver_gc_internal.h"
#include "solver_impl.h"

namespace kiln::solver::internal {
namespace {

// Automatic GC re-measures the whole cache after this many solves (what
// it does not track — cache mounts, local trees, downloads, exported
// blobs — may have grown), and runs policies without size limits then.
constexpr int kRescanEverySolves = 16;

std::string EstimateFile(const SolverDirs& dirs) {
  return dirs.base + "/gc-estimate";
}

// The persisted running total: "<bytes> <solves since the last scan>", so
// that each kiln process does not start with a full walk.
void LoadEstimate(const SolverDirs& dirs, GcGuard& gc) {
  auto text = ReadFile(EstimateFile(dirs));
  if (!text.ok()) return;
  std::istringstream in(*text);
  int64_t total = -1;
  int solves = 0;
  if (in >> total >> solves && total >= 0) {
    gc.estimate = total;
    gc.solves_since_scan = solves;
  }
}

void SaveEstimate(const SolverDirs& dirs, const GcGuard& gc) {
  WriteFileAtomic(EstimateFile(dirs),
                  std::to_string(gc.estimate.load()) + " " +
                      std::to_string(gc.solves_since_scan.load()) + "\n")
      .IgnoreError();
}

// Whether `policy` has work at this cache size and free space.
bool PolicyDue(const PruneOptions& p, int64_t total, int64_t free,
               int solves_since_scan) {
  if (p.max_used_space <= 0 && p.reserved_space <= 0 && p.min_free_space <= 0) {
    return solves_since_scan >= kRescanEverySolves;
  }
  if (p.max_used_space > 0 &&
      total > std::max(p.max_used_space, p.reserved_space)) {
    return true;
  }
  if (p.max_used_space <= 0 && p.min_free_space <= 0 &&
      total > p.reserved_space) {
    return true;
  }
  return p.min_free_space > 0 && free >= 0 && free < p.min_free_space &&
         total > p.reserved_space;
}

}  // namespace

std::string GcTrashDir(const SolverDirs& dirs) {
  return dirs.base + "/gc-trash";
}

std::string GcPendingBlobsFile(const SolverDirs& dirs) {
  return GcTrashDir(dirs) + "/blobs.pending";
}

Result<std::map<Digest, std::string>> ImageBlobNames(ImageStore& images) {
  KILN_ASSIGN_OR_RETURN(std::vector<ImageRecord> named, images.List());
  std::map<Digest, std::string> out;
  for (const ImageRecord& image : named) {
    KILN_ASSIGN_OR_RETURN(std::vector<Digest> closure,
                          images.Closure(image.target));
    for (const Digest& d : closure) out.emplace(d, image.name);
  }
  return out;
}

Status CleanGcLeftovers(const SolverDirs& dirs, CacheIndex& index,
                        ImageStore& images) {
  const std::string trash = GcTrashDir(dirs);
  if (auto pending = ReadFile(GcPendingBlobsFile(dirs)); pending.ok()) {
    KILN_ASSIGN_OR_RETURN(auto layers, index.LayerDigests());
    KILN_ASSIGN_OR_RETURN(auto named, ImageBlobNames(images));
    std::set<Digest> needed;
    for (const auto& [snapshot, d] : layers) needed.insert(d);
    std::istringstream lines(*pending);
    for (std::string line; std::getline(lines, line);) {
      Result<Digest> d = Digest::Parse(line);
      if (!d.ok() || needed.contains(*d) || named.contains(*d)) continue;
      images.content().Delete(*d).IgnoreError();  // absent is fine
    }
  }
  return RemoveTree(trash, /*force_writable=*/true);
}

Result<std::vector<UsageRecord>> SolverImpl::DiskUsage(
    const std::vector<std::string>& filters) {
  KILN_ASSIGN_OR_RETURN(GcFilter filter, GcFilter::Parse(filters));
  KILN_ASSIGN_OR_RETURN(std::vector<GcRecord> records, ScanGc(*this));
  const int64_t now = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  std::vector<UsageRecord> out;
  for (GcRecord& r : records) {
    if (filter.Matches(r.usage, now)) out.push_back(std::move(r.usage));
  }
  return out;
}

Result<std::vector<UsageRecord>> SolverImpl::Prune(
    const PruneOptions& options) {
  Result<std::vector<UsageRecord>> removed = RunPrune(*this, options);
  // Measured again by the next automatic GC.
  gc_.estimate = -1;
  std::remove(EstimateFile(dirs_).c_str());
  return removed;
}

Status SolverImpl::HoldExisting(SolveHolds& holds,
                                const std::string& snapshot) {
  std::shared_lock<std::shared_mutex> section(gc_.lock());
  Result<SnapshotInfo> info = options_.snapshots->Stat(snapshot);
  if (!info.ok()) return info.status();
  holds.Add(snapshot);
  return Status::Ok();
}

Result<std::shared_ptr<void>> SolverImpl::Hold(const std::string& snapshot) {
  auto holds = std::make_shared<SolveHolds>(gc_);
  Status held = HoldExisting(*holds, snapshot);
  if (!held.ok()) {
    return NotFoundError("snapshot " + snapshot +
                         " is gone (pruned meanwhile?): " + held.message());
  }
  return std::shared_ptr<void>(std::move(holds));
}

bool SolverImpl::LocalBaseBusy(const std::string& base) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = busy_trees_.find(base);
  return it != busy_trees_.end() && !it->second.empty();
}

Status SolverImpl::TrashLocalBase(const std::string& base,
                                  const std::string& trash) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = busy_trees_.find(base);
  if (it != busy_trees_.end() && !it->second.empty()) {
    return FailedPreconditionError("local source " + base + " is in use");
  }
  if (rename(base.c_str(), trash.c_str()) != 0) {
    if (errno == ENOENT) return NotFoundError("local source " + base);
    return ErrnoError("moving to the gc trash", base, errno);
  }
  return Status::Ok();
}

void SolverImpl::AfterSolve(SolveHolds& holds) {
  // Usage: what the solve held, and the snapshots they build on (a use as
  // a parent).
  std::set<std::string> used;
  for (const std::string& name : holds.names()) {
    for (std::string s = name; !s.empty() && used.insert(s).second;) {
      auto info = options_.snapshots->Stat(s);
      if (!info.ok()) break;
      s = info->parent;
    }
  }
  auto fresh =
      index_->MarkUsed(std::vector<std::string>(used.begin(), used.end()));
  if (options_.gc_policies.empty()) return;

  std::unique_lock<std::mutex> one(gc_.auto_mu, std::try_to_lock);
  if (!one.owns_lock()) return;  // another solve's GC is at it
  if (gc_.estimate < 0) LoadEstimate(dirs_, gc_);
  auto rescan = [&]() -> bool {
    auto records = ScanGc(*this);
    if (!records.ok()) return false;
    int64_t total = 0;
    for (const GcRecord& r : *records) total += r.usage.size;
    gc_.estimate = total;
    gc_.solves_since_scan = 0;
    return true;
  };
  if (gc_.estimate < 0) {
    if (!rescan()) return;
  } else if (fresh.ok()) {
    // Only new snapshots are measured: the running total, not a walk.
    int64_t added = 0;
    for (const std::string& name : *fresh) {
      auto own = options_.snapshots->OwnDir(name);
      if (!own.ok()) continue;
      std::string dir = *own;
      if (dir.ends_with("/fs")) dir.resize(dir.size() - 3);
      added += DiskBytes(dir);
    }
    gc_.estimate += added;
  }
  if (++gc_.solves_since_scan >= kRescanEverySolves) {
    if (!rescan()) return;
    gc_.solves_since_scan = kRescanEverySolves;  // limitless policies run
  }
  const int64_t free = FreeBytes(options_.root);
  bool due = false;
  for (const PruneOptions& policy : options_.gc_policies) {
    due = due || PolicyDue(policy, gc_.estimate, free, gc_.solves_since_scan);
  }
  if (due) {
    for (const PruneOptions& policy : options_.gc_policies) {
      // A failed pass only leaves the cache larger; the next solve retries.
      RunPrune(*this, policy).status().IgnoreError();
    }
    rescan();
  }
  if (gc_.solves_since_scan >= kRescanEverySolves) gc_.solves_since_scan = 0;
  SaveEstimate(dirs_, gc_);
}

}  // namespace kiln::solver::internal
