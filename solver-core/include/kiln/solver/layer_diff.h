// Layer diffs: a committed snapshot's changes against its parent as an OCI
// layer tar, as BuildKit's differ (containerd's archive.WriteDiff) makes them,
// for exporters (exporter.h).
//
// How the changes are found depends on the snapshotter kind:
//  - overlay: the snapshot's upper dir (Snapshotter::OwnDir) is its change
//    set. Every entry in it is written; a whiteout (character device 0:0)
//    becomes `DIR/.wh.NAME`, and a directory with the xattr
//    trusted.overlay.opaque=y gets a `DIR/.wh..wh..opq` entry.
//  - copy: the snapshot's tree is compared with its parent's, entry by entry
//    (containerd's double-walking differ): a path is changed when its type,
//    mode, uid/gid, size, mtime (nanoseconds), symlink target, device
//    numbers or xattrs differ. Contents are compared too when everything
//    else is equal and both mtimes have zero nanoseconds (trees unpacked
//    from tars, where a same-second rewrite of equal size would otherwise
//    go unseen), as containerd's differ does. Added and changed paths are
//    written, deleted ones become `.wh.NAME` (once, at the topmost deleted
//    path). The parent directories of every written path are written too
//    (containerd does the same), so both snapshotter kinds give the same
//    layer for the same change.
//
// The tar is deterministic: entries in path order (each directory's children
// by bytes), pax headers only where ustar cannot hold a field, uid/gid
// numeric without user or group names, hard links within the layer kept
// (the first path in order holds the data), xattrs kept except
// trusted.overlay.*, security.selinux and system.*; whiteouts are empty
// regular files with mode 0 and mtime 0. Sockets are skipped. The tar is
// streamed into the content store while it is compressed and hashed; no
// layer is held in memory.
//
// Thread safety: functions may run concurrently; the snapshots read must
// be committed (they never change).
#ifndef KILN_SOLVER_LAYER_DIFF_H_
#define KILN_SOLVER_LAYER_DIFF_H_

#include <cstdint>
#include <string>
#include <vector>

#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"
#include "kiln/solver/content_store.h"
#include "kiln/solver/layer.h"
#include "kiln/solver/oci.h"
#include "kiln/solver/snapshotter.h"

namespace kiln::solver {

struct LayerOptions {
  oci::Compression compression = oci::Compression::kGzip;
  // Epoch seconds, or -1 (off): mtimes later than this are clamped to it,
  // as BuildKit's rewrite-timestamp does for SOURCE_DATE_EPOCH.
  int64_t rewrite_timestamp = -1;
};

// The OCI layer media type of `compression` (layer.v1.tar, +gzip, +zstd).
std::string_view LayerMediaType(oci::Compression compression);

// The diff_id of a layer with no entries (the tar's two zero end blocks):
// exporters leave such layers out and mark their history empty_layer.
const Digest& EmptyLayerDiffId();

// Writes the changes of the committed snapshot `snapshot` against its parent
// (everything, when it has none) as a layer blob into `content`. Returns the
// descriptor (OCI media type, digest, size) and the diff_id.
// Errors: NotFound for a missing snapshot; FailedPrecondition when it is
// not committed; Internal (naming the path) for I/O failures; content store
// errors.
Result<LayerBlob> CreateLayer(Snapshotter& snapshots,
                              const std::string& snapshot,
                              ContentStore& content,
                              const LayerOptions& options = {});

// The names of `top`'s chain, base first, `top` last (empty for ""). NotFound
// when a snapshot of the chain is missing.
Result<std::vector<std::string>> SnapshotChain(Snapshotter& snapshots,
                                               const std::string& top);

}  // namespace kiln::solver

#endif  // KILN_SOLVER_LAYER_DIFF_H_
