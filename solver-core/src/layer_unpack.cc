#include "kiln/solver/layer_unpack.h"

#include <unistd.h>

#include "fs_util.h"
#include "unpack_apply.h"
#include "unpack_stream.h"

namespace kiln::solver {

Result<UnpackStats> ApplyLayer(const std::string& blob_path,
                               oci::Compression compression,
                               const std::string& dest_dir,
                               const ApplyOptions& options) {
  bool privileged = geteuid() == 0 && !options.force_unprivileged;
  if (options.mode == LayerApplyMode::kOverlay && !privileged) {
    return FailedPreconditionError("applying layer " + blob_path +
                                   " to overlay upper dir " + dest_dir +
                                   ": overlay whiteouts need root (device "
                                   "nodes and trusted.* xattrs); use the copy "
                                   "snapshotter when unprivileged");
  }
  KILN_ASSIGN_OR_RETURN(internal::UniqueFd root, internal::OpenDir(dest_dir));
  internal::LayerStream stream;
  KILN_RETURN_IF_ERROR(stream.Open(blob_path, compression));
  UnpackStats stats;
  internal::LayerApplier applier(root.get(), options, privileged, &stats);
  for (;;) {
    KILN_ASSIGN_OR_RETURN(archive_entry * entry, stream.Next());
    if (entry == nullptr) break;
    KILN_RETURN_IF_ERROR(applier.Apply(stream, entry));
  }
  KILN_RETURN_IF_ERROR(applier.Finish());
  KILN_ASSIGN_OR_RETURN(stats.diff_id, stream.Finish());
  return stats;
}

}  // namespace kiln::solver
