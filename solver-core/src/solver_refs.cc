// Views of solver results: ReadView, WorkSnapshot, AsSnapshot and output
// snapshot names (solver_internal.h).
#include <sys/stat.h>

#include <string>
#include <utility>
#include <vector>

#include "fs_util.h"
#include "snapshot_base.h"
#include "solver_internal.h"

namespace kiln::solver::internal {
namespace {

// A single bind mount presents a plain directory: no need to mount it.
const Mount* SingleBind(const std::vector<Mount>& mounts) {
  if (mounts.size() != 1 || mounts[0].type != "bind") return nullptr;
  return &mounts[0];
}

Result<std::string> MakeMountpoint(const std::string& mounts_dir) {
  std::string dir = mounts_dir + "/" + RandomNonce();
  KILN_RETURN_IF_ERROR(MakeDirs(dir, "solver mountpoint"));
  return dir;
}

}  // namespace

std::string OutputSnapshotName(const Digest& key, int output) {
  return std::string(kOutputPrefix) + std::string(key.hex().substr(0, 24)) +
         "/" + std::to_string(output) + "/" + RandomNonce();
}

Result<std::unique_ptr<ReadView>> ReadView::Open(
    Snapshotter& snapshots, const OutputRef& ref,
    const std::string& mounts_dir) {
  std::unique_ptr<ReadView> view(new ReadView());
  if (!ref.dir.empty()) {
    view->path_ = ref.dir;
    return view;
  }
  if (ref.snapshot.empty()) {
    KILN_ASSIGN_OR_RETURN(view->made_dir_, MakeMountpoint(mounts_dir));
    view->path_ = view->made_dir_;
    return view;
  }
  KILN_ASSIGN_OR_RETURN(std::vector<Mount> mounts,
                        snapshots.Mounts(ref.snapshot));
  if (const Mount* bind = SingleBind(mounts)) {
    view->path_ = bind->source;
    return view;
  }
  KILN_ASSIGN_OR_RETURN(view->made_dir_, MakeMountpoint(mounts_dir));
  for (const Mount& m : mounts) {
    KILN_RETURN_IF_ERROR(view->mounts_.Mount(m, view->made_dir_)
                             .WithContext("snapshot " + ref.snapshot));
  }
  view->path_ = view->made_dir_;
  return view;
}

ReadView::~ReadView() {
  mounts_.UnmountAll().IgnoreError();
  if (!made_dir_.empty()) rmdir(made_dir_.c_str());
}

Result<std::unique_ptr<WorkSnapshot>> WorkSnapshot::Prepare(
    Snapshotter& snapshots, const std::string& parent,
    const std::string& mounts_dir) {
  std::string key = std::string(kWorkPrefix) + RandomNonce();
  KILN_ASSIGN_OR_RETURN(std::string dir, snapshots.Prepare(key, parent));
  return std::unique_ptr<WorkSnapshot>(
      new WorkSnapshot(snapshots, std::move(key), std::move(dir), mounts_dir));
}

WorkSnapshot::~WorkSnapshot() {
  mounts_.UnmountAll().IgnoreError();
  if (!made_dir_.empty()) rmdir(made_dir_.c_str());
  if (!committed_) snapshots_.Remove(key_).IgnoreError();
}

Result<std::vector<Mount>> WorkSnapshot::Mounts() {
  return snapshots_.Mounts(key_);
}

Result<std::string> WorkSnapshot::Path() {
  if (!path_.empty()) return path_;
  KILN_ASSIGN_OR_RETURN(std::vector<Mount> mounts, snapshots_.Mounts(key_));
  if (const Mount* bind = SingleBind(mounts)) {
    path_ = bind->source;
    return path_;
  }
  KILN_ASSIGN_OR_RETURN(made_dir_, MakeMountpoint(mounts_dir_));
  for (const Mount& m : mounts) {
    KILN_RETURN_IF_ERROR(
        mounts_.Mount(m, made_dir_).WithContext("snapshot " + key_));
  }
  path_ = made_dir_;
  return path_;
}

Status WorkSnapshot::Commit(const std::string& name) {
  KILN_RETURN_IF_ERROR(mounts_.UnmountAll());
  if (!made_dir_.empty()) {
    rmdir(made_dir_.c_str());
    made_dir_.clear();
  }
  path_.clear();
  KILN_RETURN_IF_ERROR(snapshots_.Commit(name, key_));
  committed_ = true;
  return Status::Ok();
}

Result<std::string> AsSnapshot(const OpEnv& env, const OutputRef& ref,
                               const std::function<Result<Digest>()>& digest) {
  if (ref.dir.empty()) return ref.snapshot;
  KILN_ASSIGN_OR_RETURN(Digest content, digest());
  std::string name = "kiln-dir/" + std::string(content.hex());
  // Held for the solve (env.hold); pruned between Stat or Commit and the
  // hold (NotFound), it is made again.
  auto hold = [&]() -> Status {
    return env.hold ? env.hold(name) : Status::Ok();
  };
  for (int attempt = 0;; ++attempt) {
    if (env.snapshots->Stat(name).ok()) {
      Status held = hold();
      if (held.ok()) return name;
      if (held.code() != StatusCode::kNotFound || attempt >= 2) return held;
      continue;
    }
    KILN_ASSIGN_OR_RETURN(
        std::unique_ptr<WorkSnapshot> work,
        WorkSnapshot::Prepare(*env.snapshots, "", env.dirs->mounts));
    KILN_ASSIGN_OR_RETURN(std::string path, work->Path());
    KILN_RETURN_IF_ERROR(CopyTree(ref.dir, path));
    Status committed = work->Commit(name);
    // Another vertex may have made the same one meanwhile.
    if (!committed.ok() && committed.code() != StatusCode::kAlreadyExists) {
      return committed;
    }
    Status held = hold();
    if (held.ok()) return name;
    if (held.code() != StatusCode::kNotFound || attempt >= 2) return held;
  }
}

}  // namespace kiln::solver::internal
