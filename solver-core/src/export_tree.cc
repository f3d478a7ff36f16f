// A result tree copied into a directory (the local exporter), and the
// read-only view of a result tree.
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

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

Status CopyResultTo(const ExportEnv& env, const std::string& snapshot,
                    const std::string& dest) {
  KILN_ASSIGN_OR_RETURN(auto view, TreeView::Open(env, snapshot));
  KILN_RETURN_IF_ERROR(MakeDirs(dest, "export destination " + dest));
  // Copy next to the destination's entries, then move each into place.
  std::string staging = dest + "/.kiln-export-" + RandomNonce();
  if (mkdir(staging.c_str(), 0700) != 0)
    return ErrnoError("creating", staging, errno);
  Status s = CopyTree(view->path(), staging);
  auto names = s.ok() ? ListDir(staging) : Result<std::vector<std::string>>(s);
  if (names.ok()) {
    for (const std::string& name : *names) {
      std::string target = dest + "/" + name;
      s = RemoveTree(target);
      if (s.ok() && rename((staging + "/" + name).c_str(), target.c_str()) != 0)
        s = ErrnoError("moving into place", target, errno);
      if (!s.ok()) break;
    }
  } else {
    s = names.status();
  }
  RemoveTree(staging).IgnoreError();
  return s;
}

}  // namespace kiln::solver::internal
