// MergeOp and DiffOp on snapshots (solver_internal.h).
//
// Merge: the first non-empty input is the parent of the result, and each
// later input's tree is copied over it (directories merged, other entries
// replaced) — BuildKit applies each input's layers instead, which differs
// only when a later input's own layers delete paths of an earlier input.
//
// Diff: the entries of `upper` that are missing from `lower` or differ from
// it (type, mode, owner, size, mtime, symlink target; content when mtimes
// have no nanoseconds), with the directories leading to them; a directory
// whose own mode or owner changed is copied whole. Deletions are not
// represented (as a filesystem, a diff has no way to say "absent").
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "fs_util.h"
#include "kiln/solver/file_op.h"
#include "solver_internal.h"

namespace kiln::solver::internal {
namespace {

pb::FileAction CopyAction(const std::string& src, const std::string& dest,
                          bool contents) {
  pb::FileAction action;
  pb::FileActionCopy* copy = action.mutable_copy();
  copy->set_src(src);
  copy->set_dest(dest);
  copy->set_mode(-1);
  copy->set_timestamp(-1);
  copy->set_dircopycontents(contents);
  copy->set_createdestpath(true);
  copy->set_alwaysreplaceexistingdestpaths(true);
  return action;
}

bool SameBytes(const std::string& a, const std::string& b) {
  auto da = ReadFile(a);
  auto db = ReadFile(b);
  return da.ok() && db.ok() && *da == *db;
}

// Type, mode and owner; for non-directories also size and mtime, and the
// content when the mtimes carry no nanoseconds (trees from tars or with
// fixed timestamps, where equal times say little), as containerd's
// continuity does; symlinks by target.
bool SameEntry(const std::string& a, const struct stat& sa,
               const std::string& b, const struct stat& sb) {
  if (sa.st_mode != sb.st_mode || sa.st_uid != sb.st_uid ||
      sa.st_gid != sb.st_gid) {
    return false;
  }
  if (S_ISDIR(sa.st_mode)) return true;
  if (sa.st_size != sb.st_size || sa.st_mtim.tv_sec != sb.st_mtim.tv_sec ||
      sa.st_mtim.tv_nsec != sb.st_mtim.tv_nsec) {
    return false;
  }
  if (S_ISLNK(sa.st_mode)) {
    auto la = ReadLink(a);
    auto lb = ReadLink(b);
    return la.ok() && lb.ok() && *la == *lb;
  }
  if (S_ISREG(sa.st_mode) && sa.st_mtim.tv_nsec == 0) return SameBytes(a, b);
  return true;
}

// Copies into `dest` what differs under `rel` ("" = the root).
Status DiffDir(const std::string& lower, const std::string& upper,
               const std::string& rel, const std::string& dest) {
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(upper + rel));
  for (const std::string& name : names) {
    const std::string path = rel + "/" + name;
    struct stat su {};
    if (lstat((upper + path).c_str(), &su) != 0) {
      return ErrnoError("diff: stat of", upper + path, errno);
    }
    struct stat sl {};
    const bool in_lower = lstat((lower + path).c_str(), &sl) == 0;
    // A directory in both is walked; when its own mode or owner changed,
    // it is copied whole instead (its unchanged children come along).
    if (in_lower && S_ISDIR(su.st_mode) && S_ISDIR(sl.st_mode) &&
        SameEntry(lower + path, sl, upper + path, su)) {
      KILN_RETURN_IF_ERROR(DiffDir(lower, upper, path, dest));
      continue;
    }
    if (in_lower && SameEntry(lower + path, sl, upper + path, su)) continue;
    FileActionDirs dirs;
    dirs.dest = dest;
    dirs.source = upper;
    KILN_RETURN_IF_ERROR(ApplyFileAction(CopyAction(path, path, false), dirs)
                             .WithContext("diff"));
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<OutputRef>> RunMergeOp(const OpEnv& env, const Digest& key,
                                          std::span<const OutputRef> op_inputs,
                                          const InputDigests& op_digests) {
  // The merge's inputs in merge order (-1 = empty).
  std::vector<OutputRef> inputs;
  InputDigests digests;
  for (const pb::MergeInput& in : env.vertex->op.merge().inputs()) {
    if (in.input() < 0) {
      inputs.emplace_back();
      digests.emplace_back();
      continue;
    }
    inputs.push_back(op_inputs[static_cast<size_t>(in.input())]);
    digests.push_back(op_digests[static_cast<size_t>(in.input())]);
  }
  size_t first = 0;
  while (first < inputs.size() && inputs[first].empty()) ++first;
  if (first == inputs.size()) return std::vector<OutputRef>(1);
  KILN_ASSIGN_OR_RETURN(std::string parent,
                        AsSnapshot(env, inputs[first], digests[first]));
  if (first + 1 == inputs.size()) {
    return std::vector<OutputRef>{OutputRef{parent, ""}};
  }
  KILN_ASSIGN_OR_RETURN(
      std::unique_ptr<WorkSnapshot> work,
      WorkSnapshot::Prepare(*env.snapshots, parent, env.dirs->mounts));
  KILN_ASSIGN_OR_RETURN(std::string dest, work->Path());
  for (size_t i = first + 1; i < inputs.size(); ++i) {
    if (inputs[i].empty()) continue;
    KILN_ASSIGN_OR_RETURN(
        std::unique_ptr<ReadView> view,
        ReadView::Open(*env.snapshots, inputs[i], env.dirs->mounts));
    FileActionDirs dirs;
    dirs.dest = dest;
    dirs.source = view->path();
    KILN_RETURN_IF_ERROR(ApplyFileAction(CopyAction("/", "/", true), dirs)
                             .WithContext("merge input " + std::to_string(i)));
  }
  std::string name = OutputSnapshotName(key, 0);
  KILN_RETURN_IF_ERROR(work->Commit(name));
  return std::vector<OutputRef>{OutputRef{name, ""}};
}

Result<std::vector<OutputRef>> RunDiffOp(const OpEnv& env, const Digest& key,
                                         std::span<const OutputRef> inputs) {
  const pb::DiffOp& op = env.vertex->op.diff();
  auto input = [&](int64_t index) {
    return index < 0 ? OutputRef{} : inputs[static_cast<size_t>(index)];
  };
  const OutputRef lower = input(op.lower().input());
  const OutputRef upper = input(op.upper().input());
  if (upper.empty()) return std::vector<OutputRef>(1);
  KILN_ASSIGN_OR_RETURN(
      std::unique_ptr<ReadView> upper_view,
      ReadView::Open(*env.snapshots, upper, env.dirs->mounts));
  KILN_ASSIGN_OR_RETURN(
      std::unique_ptr<ReadView> lower_view,
      ReadView::Open(*env.snapshots, lower, env.dirs->mounts));
  KILN_ASSIGN_OR_RETURN(
      std::unique_ptr<WorkSnapshot> work,
      WorkSnapshot::Prepare(*env.snapshots, "", env.dirs->mounts));
  KILN_ASSIGN_OR_RETURN(std::string dest, work->Path());
  KILN_RETURN_IF_ERROR(
      DiffDir(lower_view->path(), upper_view->path(), "", dest));
  std::string name = OutputSnapshotName(key, 0);
  KILN_RETURN_IF_ERROR(work->Commit(name));
  return std::vector<OutputRef>{OutputRef{name, ""}};
}

}  // namespace kiln::solver::internal
