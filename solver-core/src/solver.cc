// Solver::Open and the state solves share (solver_impl.h).
#include <sys/mount.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <shared_mutex>
#include <sstream>
#include <thread>
#include <utility>

#include "fs_util.h"
#include "kiln/solver/exec_mounts.h"
#include "solver_gc_internal.h"
#include "solver_impl.h"

namespace kiln::solver {
namespace internal {
namespace {

bool IsOctal(char c) { return c >= '0' && c <= '7'; }

// /proc/self/mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && IsOctal(s[i + 1]) &&
        IsOctal(s[i + 2]) && IsOctal(s[i + 3])) {
      out += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 +
                               (s[i + 3] - '0'));
      i += 3;
      continue;
    }
    out += s[i];
  }
  return out;
}

// Removes what a killed predecessor left: work snapshots (the root has one
// owner at a time, so every active kiln-work/ snapshot is stale) and mounts.
Status CleanUp(Snapshotter& snapshots, const SolverDirs& dirs) {
  KILN_RETURN_IF_ERROR(UnmountBelow(dirs.mounts));
  KILN_RETURN_IF_ERROR(RemoveTree(dirs.mounts));
  KILN_RETURN_IF_ERROR(MakeDirs(dirs.mounts, "solver mountpoints"));
  KILN_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> all, snapshots.List());
  for (const SnapshotInfo& info : all) {
    // Also the image unpacker's work ("extract-<nonce>-<chain id>").
    if (info.kind == SnapshotKind::kActive &&
        (info.name.starts_with(kWorkPrefix) ||
         info.name.starts_with("extract-"))) {
      KILN_RETURN_IF_ERROR(snapshots.Remove(info.name).WithContext(
          "removing stale work snapshot"));
    }
  }
  return Status::Ok();
}

// Removes committed output snapshots ("kiln/…") that no index record names
// and that no other snapshot builds on: what a crash between Commit and
// Record, or a failed Record, left. Repeats while removals free parents.
Status SweepUnrecorded(Snapshotter& snapshots, CacheIndex& index) {
  KILN_ASSIGN_OR_RETURN(std::vector<CacheRecord> records, index.List());
  std::set<std::string> recorded;
  for (const CacheRecord& record : records) {
    recorded.insert(record.outputs.begin(), record.outputs.end());
  }
  for (bool removed = true; removed;) {
    removed = false;
    KILN_ASSIGN_OR_RETURN(std::vector<SnapshotInfo> all, snapshots.List());
    std::set<std::string> parents;
    for (const SnapshotInfo& info : all) parents.insert(info.parent);
    for (const SnapshotInfo& info : all) {
      if (info.kind != SnapshotKind::kCommitted ||
          !info.name.starts_with(kOutputPrefix) ||
          recorded.contains(info.name) || parents.contains(info.name)) {
        continue;
      }
      KILN_RETURN_IF_ERROR(snapshots.Remove(info.name).WithContext(
          "removing unrecorded snapshot"));
      removed = true;
    }
  }
  return Status::Ok();
}

}  // namespace

Status UnmountBelow(const std::string& dir) {
  std::ifstream in("/proc/self/mountinfo");
  std::vector<std::string> targets;
  std::string line;
  const std::string prefix = dir + "/";
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string id, parent, dev, root, mountpoint;
    fields >> id >> parent >> dev >> root >> mountpoint;
    mountpoint = Unescape(mountpoint);
    if (mountpoint.starts_with(prefix)) targets.push_back(mountpoint);
  }
  std::sort(targets.begin(), targets.end(),
            [](const std::string& a, const std::string& b) {
              return a.size() > b.size();
            });
  for (const std::string& t : targets) {
    if (umount2(t.c_str(), MNT_DETACH) != 0 && errno != EINVAL &&
        errno != ENOENT) {
      return ErrnoError("unmounting stale", t, errno);
    }
  }
  return Status::Ok();
}

SolverImpl::SolverImpl(SolverOptions options, SolverDirs dirs,
                       std::unique_ptr<CacheIndex> index,
                       std::unique_ptr<CacheMounts> cache_mounts)
    : options_(std::move(options)),
      dirs_(std::move(dirs)),
      index_(std::move(index)),
      cache_mounts_(std::move(cache_mounts)),
      local_checksums_(dirs_.checksums) {
  int n = options_.parallelism;
  if (n <= 0)
    n = std::max(2, static_cast<int>(std::thread::hardware_concurrency()));
  free_slots_ = n;
}

Result<SolveResult> SolverImpl::Solve(const Graph& graph,
                                      const SolveRequest& request,
                                      std::stop_token stop) {
  return RunSolve(*this, graph, request, std::move(stop));
}

bool SolverImpl::AcquireSlot(std::stop_token stop) {
  std::unique_lock<std::mutex> lock(slots_mu_);
  if (!slots_cv_.wait(lock, stop, [&] { return free_slots_ > 0; })) {
    return false;
  }
  --free_slots_;
  return true;
}

void SolverImpl::ReleaseSlot() {
  {
    std::lock_guard<std::mutex> lock(slots_mu_);
    ++free_slots_;
  }
  slots_cv_.notify_one();
}

std::string SolverImpl::AcquireLocalTree(const std::string& base) {
  std::string base_tree;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::set<int>& busy = busy_trees_[base];
    int n = 0;
    while (busy.contains(n)) ++n;
    busy.insert(n);
    // GC may have taken `base` (TrashLocalBase) since the caller made it.
    MakeDirs(base, "local source state").IgnoreError();
    base_tree = base + "/tree-" + std::to_string(n);
  }
  index_->MarkUsed({LocalUsageName(base)}).status().IgnoreError();  // du
  return base_tree;
}

void SolverImpl::ReleaseLocalTree(const std::string& tree) {
  const size_t slash = tree.rfind("/tree-");
  if (slash == std::string::npos) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = busy_trees_.find(tree.substr(0, slash));
  if (it == busy_trees_.end()) return;
  it->second.erase(std::stoi(tree.substr(slash + 6)));
  if (it->second.empty()) busy_trees_.erase(it);
}

std::optional<std::vector<OutputRef>> SolverImpl::Lookup(const Digest& key,
                                                         SolveHolds* holds) {
  // Found and held in one shared section (solver_gc_guard.h).
  std::shared_lock<std::shared_mutex> gc_section(gc_.lock(), std::defer_lock);
  if (holds != nullptr) gc_section.lock();
  auto record = index_->Lookup(key);
  if (!record.ok() || !record->has_value()) return std::nullopt;
  std::vector<OutputRef> outputs;
  for (const std::string& snapshot : (*record)->outputs) {
    if (snapshot.empty()) {
      outputs.emplace_back();
      continue;
    }
    if (auto info = options_.snapshots->Stat(snapshot); !info.ok()) {
      // Only a snapshot that is gone invalidates the record (and its layer
      // and checksum rows); any other error is just a miss.
      if (info.status().code() == StatusCode::kNotFound) {
        index_->ForgetSnapshot(snapshot).IgnoreError();
      }
      return std::nullopt;
    }
    outputs.push_back(OutputRef{snapshot, ""});
    if (!snapshot.empty()) Describe(snapshot, (*record)->description);
  }
  if (holds != nullptr) {
    for (const OutputRef& out : outputs) holds->Add(out.snapshot);
  }
  return outputs;
}

std::pair<std::shared_ptr<InFlight>, bool> SolverImpl::BeginRun(
    const Digest& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto [it, inserted] = in_flight_.try_emplace(key);
  if (inserted) it->second = std::make_shared<InFlight>();
  return {it->second, inserted};
}

void SolverImpl::FinishRun(const Digest& key,
                           const std::shared_ptr<InFlight>& entry,
                           Status status, std::vector<OutputRef> outputs) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_flight_.erase(key);
  }
  {
    std::lock_guard<std::mutex> lock(entry->mu);
    entry->done = true;
    entry->status = std::move(status);
    entry->outputs = std::move(outputs);
  }
  entry->cv.notify_all();
}

void SolverImpl::Describe(const std::string& snapshot,
                          const std::string& created_by) {
  std::lock_guard<std::mutex> lock(mu_);
  descriptions_[snapshot] = created_by;
}

std::string SolverImpl::DescriptionOf(const std::string& snapshot) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = descriptions_.find(snapshot);
  return it == descriptions_.end() ? std::string() : it->second;
}

}  // namespace internal

Result<std::unique_ptr<Solver>> Solver::Open(const SolverOptions& options) {
  if (options.images == nullptr || options.snapshots == nullptr) {
    return InvalidArgumentError("solver: image store and snapshotter needed");
  }
  if (options.root.empty() || options.root[0] != '/') {
    return InvalidArgumentError("solver: root must be an absolute path");
  }
  internal::SolverDirs dirs;
  dirs.base = options.root + "/solver";
  dirs.mounts = dirs.base + "/mnt";
  dirs.locals = dirs.base + "/locals";
  dirs.checksums = dirs.base + "/checksums";
  dirs.git = dirs.base + "/git";
  dirs.http = dirs.base + "/http";
  for (const std::string* d : {&dirs.base, &dirs.mounts, &dirs.locals,
                               &dirs.checksums, &dirs.git, &dirs.http}) {
    KILN_RETURN_IF_ERROR(internal::MakeDirs(*d, "solver state"));
  }
  // Private: synced local trees, cache mounts, git and http caches keep
  // their owners and modes (setuid bits, device nodes of a client's
  // context); no other user of the machine may reach them.
  if (chmod(dirs.base.c_str(), 0700) != 0) {
    return InternalError("making " + dirs.base +
                         " private: " + std::strerror(errno));
  }
  KILN_RETURN_IF_ERROR(internal::CleanUp(*options.snapshots, dirs));
  KILN_RETURN_IF_ERROR(RemoveStaleExecMountDirs());
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<CacheIndex> index,
                        CacheIndex::Open(dirs.base + "/cache.db"));
  // Best effort: what it cannot remove now only costs disk space.
  internal::SweepUnrecorded(*options.snapshots, *index).IgnoreError();
  internal::CleanGcLeftovers(dirs, *index, *options.images).IgnoreError();
  KILN_ASSIGN_OR_RETURN(std::unique_ptr<CacheMounts> cache_mounts,
                        CacheMounts::Open(dirs.base + "/cachemounts"));
  return std::unique_ptr<Solver>(new internal::SolverImpl(
      options, std::move(dirs), std::move(index), std::move(cache_mounts)));
}

}  // namespace kiln::solver
