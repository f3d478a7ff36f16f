// Result trees copied into a directory (the local exporter: merged, or one
// directory per platform), and the read-only view of a result tree.
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <utility>
#include <vector>

#include "export_internal.h"
#include "fs_util.h"
#include "image_archive_io.h"
#include "layer_diff_scan.h"
#include "snapshot_base.h"
#include "tar_writer.h"

namespace kiln::solver::internal {

Result<std::unique_ptr<TreeView>> TreeView::Open(const ExportEnv& env,
                                                 const std::string& snapshot) {
  std::unique_ptr<TreeView> view(new TreeView());
  std::string nonce = RandomNonce();
  if (snapshot.empty()) {
    view->scratch_ = env.work_dir + "/export-empty-" + nonce;
    if (mkdir(view->scratch_.c_str(), 0755) != 0) {
      return ErrnoError("creating", view->scratch_, errno);
    }
    view->path_ = view->scratch_;
    return view;
  }
  view->snapshots_ = env.snapshots;
  std::string key = "export-view-" + nonce;
  KILN_ASSIGN_OR_RETURN(auto mounts, env.snapshots->View(key, snapshot));
  view->view_key_ = key;
  if (mounts.size() == 1 && mounts[0].type == "bind") {
    view->path_ = mounts[0].source;  // a plain tree: no mount needed
    return view;
  }
  view->scratch_ = env.work_dir + "/export-mnt-" + nonce;
  if (mkdir(view->scratch_.c_str(), 0755) != 0) {
    return ErrnoError("creating", view->scratch_, errno);
  }
  for (const Mount& m : mounts) {
    KILN_RETURN_IF_ERROR(view->mounts_.Mount(m, view->scratch_));
  }
  view->path_ = view->scratch_;
  return view;
}

TreeView::~TreeView() {
  mounts_.UnmountAll().IgnoreError();
  if (!scratch_.empty()) RemoveTree(scratch_).IgnoreError();
  if (!view_key_.empty()) snapshots_->Remove(view_key_).IgnoreError();
}

namespace {

// The platform that put `path` into the merged tree: the nearest of it and
// its parents that a later tree moved in whole, else the first tree.
size_t OwnerOf(const std::map<std::string, size_t>& moved, std::string path) {
  for (;;) {
    auto it = moved.find(path);
    if (it != moved.end()) return it->second;
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return 0;
    path.resize(slash);
  }
}

// Moves the entries of the tree `from` (tree `index`) into `into`, merging
// directories present in both (the first tree's directory metadata wins).
// InvalidArgument for a non-directory present in both, or a directory in
// one where the other has a file, as BuildKit's "cannot overwrite".
Status MergeTree(const std::string& from, const std::string& into,
                 const std::string& rel, size_t index,
                 const std::vector<std::string>& labels,
                 std::map<std::string, size_t>* moved) {
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(from));
  for (const std::string& name : names) {
    std::string path =
        rel.empty() ? name : std::string(rel).append("/").append(name);
    std::string src = std::string(from).append("/").append(name);
    std::string dst = std::string(into).append("/").append(name);
    struct stat src_st = {};
    struct stat dst_st = {};
    if (lstat(src.c_str(), &src_st) != 0)
      return ErrnoError("stat of", src, errno);
    if (lstat(dst.c_str(), &dst_st) != 0) {
      if (errno != ENOENT) return ErrnoError("stat of", dst, errno);
      if (rename(src.c_str(), dst.c_str()) != 0)
        return ErrnoError("merging", dst, errno);
      (*moved)[path] = index;
      continue;
    }
    bool src_dir = S_ISDIR(src_st.st_mode), dst_dir = S_ISDIR(dst_st.st_mode);
    if (src_dir && dst_dir) {
      KILN_RETURN_IF_ERROR(MergeTree(src, dst, path, index, labels, moved));
      // Entries moved in changed its mtime: the copied one is kept.
      const struct timespec times[2] = {dst_st.st_atim, dst_st.st_mtim};
      if (utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
        return ErrnoError("setting the times of", dst, errno);
      continue;
    }
    std::string error = "cannot overwrite ";
    error.append(path)
        .append(" from ")
        .append(labels[OwnerOf(*moved, path)])
        .append(" with ")
        .append(labels[index])
        .append(" when split option is disabled");
    if (src_dir != dst_dir) {
      error.append(src_dir ? " (a file with a directory)"
                           : " (a directory with a file)");
    }
    return InvalidArgumentError(error);
  }
  return Status::Ok();
}

// Sets the mtime (and atime) of everything under `dir`, not `dir` itself,
// to `epoch`, without following symlinks; children before their directory.
Status SetTreeTimes(const std::string& dir, int64_t epoch) {
  KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir));
  const struct timespec times[2] = {{.tv_sec = epoch, .tv_nsec = 0},
                                    {.tv_sec = epoch, .tv_nsec = 0}};
  for (const std::string& name : names) {
    std::string path = dir + "/" + name;
    struct stat st {};
    if (lstat(path.c_str(), &st) != 0) return ErrnoError("stat", path, errno);
    if (S_ISDIR(st.st_mode)) KILN_RETURN_IF_ERROR(SetTreeTimes(path, epoch));
    if (utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
      return ErrnoError("setting the times of", path, errno);
  }
  return Status::Ok();
}

// Copies every tree under `staging` (with `epoch` >= 0 every time set to
// it, the platform directories' too, as BuildKit's local exporter), then
// merges or moves them into `dest`.
Status StageAndPlace(const ExportEnv& env,
                     std::span<const ExportSource> sources,
                     const std::string& dest, const std::string& staging,
                     bool split, int64_t epoch) {
  std::vector<std::string> trees, labels;
  for (size_t i = 0; i < sources.size(); ++i) {
    std::string tree = staging + "/" + std::to_string(i);
    if (mkdir(tree.c_str(), 0755) != 0)
      return ErrnoError("creating", tree, errno);
    KILN_ASSIGN_OR_RETURN(auto view, TreeView::Open(env, sources[i].snapshot));
    KILN_RETURN_IF_ERROR(CopyTree(view->path(), tree));
    if (epoch >= 0) {
      KILN_RETURN_IF_ERROR(SetTreeTimes(tree, epoch));
      const struct timespec times[2] = {{.tv_sec = epoch, .tv_nsec = 0},
                                        {.tv_sec = epoch, .tv_nsec = 0}};
      if (utimensat(AT_FDCWD, tree.c_str(), times, 0) != 0)
        return ErrnoError("setting the times of", tree, errno);
    }
    trees.push_back(std::move(tree));
    labels.push_back(PlatformId(sources[i]));
  }
  // What goes into dest: (staged path, name in dest).
  std::vector<std::pair<std::string, std::string>> moves;
  if (split) {
    for (size_t i = 0; i < sources.size(); ++i) {
      KILN_ASSIGN_OR_RETURN(std::string name, PlatformDirName(sources[i]));
      moves.emplace_back(trees[i], std::move(name));
    }
  } else {
    std::map<std::string, size_t> moved;
    for (size_t i = 1; i < trees.size(); ++i)
      KILN_RETURN_IF_ERROR(
          MergeTree(trees[i], trees[0], "", i, labels, &moved));
    KILN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(trees[0]));
    for (const std::string& name : names)
      moves.emplace_back(trees[0] + "/" + name, name);
  }
  for (const auto& [from, name] : moves) {
    std::string target = dest + "/" + name;
    KILN_RETURN_IF_ERROR(RemoveTree(target));
    if (rename(from.c_str(), target.c_str()) != 0)
      return ErrnoError("moving into place", target, errno);
  }
  return Status::Ok();
}

}  // namespace

Status CopyResultsTo(const ExportEnv& env,
                     std::span<const ExportSource> sources,
                     const std::string& dest, bool split, int64_t epoch) {
  KILN_RETURN_IF_ERROR(MakeDirs(dest, "export destination " + dest));
  std::string staging = dest + "/.kiln-export-" + RandomNonce();
  if (mkdir(staging.c_str(), 0700) != 0)
    return ErrnoError("creating", staging, errno);
  Status s = StageAndPlace(env, sources, dest, staging, split, epoch);
  RemoveTree(staging).IgnoreError();
  return s;
}

}  // namespace kiln::solver::internal
