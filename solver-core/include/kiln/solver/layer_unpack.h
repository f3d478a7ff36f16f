// Applying image layers (tar streams) to directories, and unpacking a whole
// image into a chain of snapshots.
//
// ApplyLayer has the semantics of containerd's archive.Apply:
//
//  - AUFS whiteouts: an entry `DIR/.wh.NAME` deletes NAME (and everything
//    under it) from the lower layers; `DIR/.wh..wh..opq` makes DIR opaque (no
//    lower content of DIR stays visible); other `.wh..wh.*` entries are
//    ignored. How they land depends on LayerApplyMode (below).
//  - An existing path is replaced by the entry, except that a directory entry
//    over an existing directory merges (only its metadata is applied).
//  - Missing parent directories are created (mode 0755, or in overlay mode
//    with the metadata of the same directory in the nearest lower dir).
//  - Entry paths are cleaned lexically: a leading `/` is dropped (absolute
//    paths land under dest), `.` and empty components vanish, `a/../b` is `b`.
//    A path or hardlink target whose `..` climbs above the root is rejected
//    with InvalidArgument naming the entry.
//  - Symlinks met while resolving an entry's parent directories are followed
//    as if dest were `/` (openat2's RESOLVE_IN_ROOT; a component-wise
//    resolver with the same semantics when openat2 is missing): a symlink
//    `etc -> /host/etc` then `etc/passwd` writes dest/host/etc/passwd, never
//    outside dest. The last component is never followed (O_NOFOLLOW,
//    AT_SYMLINK_NOFOLLOW, O_EXCL creates).
//  - Hardlinks link to an earlier entry of the same layer or a file already
//    in dest; the target is resolved like an entry path, so it is always
//    inside dest. A missing target is InvalidArgument.
//  - Metadata: modes (setuid/setgid/sticky included), mtimes and atimes (of
//    directories last, after their contents), and xattrs from pax SCHILY.xattr
//    records. uid/gid are applied only when privileged (euid 0); otherwise the
//    files keep the caller's ownership and UnpackStats::skipped_chowns counts
//    them. An xattr the kernel refuses with EPERM or EOPNOTSUPP (security.*
//    and trusted.* when unprivileged, user.* on symlinks or filesystems
//    without user xattrs) is skipped and counted in skipped_xattrs; other
//    xattr errors fail. `trusted.overlay.*` xattrs from the layer are always
//    skipped (they would steer overlayfs; only whiteout handling sets them).
//  - Character and block devices are created when privileged and otherwise
//    skipped and counted in skipped_devices. FIFOs need no privilege and are
//    always created.
//
// Thread safety: ApplyLayer and UnpackImage may run concurrently (they use no
// process-wide state such as the working directory or umask); two concurrent
// ApplyLayer calls into the same dest_dir give an unspecified tree.
#ifndef KILN_SOLVER_LAYER_UNPACK_H_
#define KILN_SOLVER_LAYER_UNPACK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"
#include "kiln/solver/content_store.h"
#include "kiln/solver/oci.h"
#include "kiln/solver/snapshotter.h"

namespace kiln::solver {

enum class LayerApplyMode {
  // dest_dir already holds the merged lower layers (the copy snapshotter):
  // whiteouts delete, an opaque directory loses every child that this layer
  // did not itself unpack (wherever the `.wh..wh..opq` entry sits in the
  // stream).
  kApplyInPlace,
  // dest_dir is an empty overlayfs upper dir: a whiteout becomes a character
  // device 0/0 named NAME and an opaque directory gets the xattr
  // `trusted.overlay.opaque=y`. Needs privilege: FailedPrecondition when
  // unprivileged (use kApplyInPlace with a copy snapshotter instead).
  kOverlay,
};

struct ApplyOptions {
  LayerApplyMode mode = LayerApplyMode::kApplyInPlace;
  // kOverlay only: the lower dirs of the overlay, nearest first. A parent
  // directory the layer does not list but needs is created in dest_dir with
  // the mode, owner and times of the first lower dir that has it (an upper
  // directory's metadata wins in the merged view, so 0755 would, say, turn
  // a lower /tmp's 1777 into 0755). The path's parents are resolved inside
  // each lower dir (its symlinks never lead out of it).
  std::vector<std::string> lower_dirs;
  // Behave as if unprivileged even when euid is 0 (no chown, no device
  // nodes, kOverlay refused). For tests and rootless callers.
  bool force_unprivileged = false;
  // Resolve paths with the component-wise resolver even when openat2 is
  // available. For tests of that fallback.
  bool force_portable_resolve = false;
};

struct UnpackStats {
  int64_t entries = 0;          // tar entries read, whiteouts included
  int64_t bytes = 0;            // regular-file content bytes written
  int64_t whiteouts = 0;        // .wh.NAME and .wh..wh..opq entries applied
  int64_t skipped_devices = 0;  // char/block devices not created (unprivileged)
  int64_t skipped_xattrs = 0;   // xattrs refused by the kernel or filtered
  int64_t skipped_chowns = 0;   // entries whose uid/gid were not applied
  // sha256 of the whole uncompressed tar stream (trailing padding included),
  // computed while reading: compare it with the image config's diff_id.
  Digest diff_id;
};

// Applies the layer blob at `blob_path`, compressed as `compression`, to the
// existing directory `dest_dir`.
//
// Errors: NotFound when the blob or dest_dir is missing; InvalidArgument,
// naming the entry, for an entry that escapes dest_dir, a hardlink to a
// missing or escaping target, or an entry type kiln cannot create;
// DataLoss when the stream is not `compression`-compressed, is corrupt or
// truncated, or is not a tar stream; FailedPrecondition for kOverlay when
// unprivileged; Internal for other I/O failures (naming the entry). On error
// dest_dir is left partly applied: callers apply into a fresh snapshot and
// remove it on failure.
Result<UnpackStats> ApplyLayer(const std::string& blob_path,
                               oci::Compression compression,
                               const std::string& dest_dir,
                               const ApplyOptions& options);

// OCI chain IDs: ChainID(L0) = DiffID(L0), ChainID(Ln) =
// sha256(ChainID(Ln-1) + " " + DiffID(Ln)). One per diff ID, in order.
std::vector<Digest> ChainIds(const std::vector<Digest>& diff_ids);

// Unpacks the layers of an image into `snapshotter`, one committed snapshot
// per layer named by its chain ID, and returns the top chain ID (the
// snapshot to Prepare or View a container rootfs on; empty for an image
// without layers, i.e. Prepare with no parent). A layer whose chain ID
// is already committed is not applied again. Each missing layer is applied
// into a fresh active snapshot ("extract-<nonce>-<chain id>") in the mode its
// mounts call for (an overlay mount: kOverlay into the upper dir; a bind
// mount: kApplyInPlace), its diff_id checked, then committed; the active
// snapshot is removed on any failure.
//
// Concurrent calls for the same image (threads sharing `snapshotter`) are
// safe: each applies into its own active snapshot, the first Commit wins and
// a later one is discarded in favour of the committed snapshot.
//
// Errors: InvalidArgument when the manifest's layer count differs from the
// config's diff_ids or a layer media type is unknown; NotFound when a layer
// blob is missing from `content`; DataLoss, naming the layer index and
// digest, when a layer's uncompressed digest differs from its diff_id; errors
// of ApplyLayer and of the snapshotter, with the layer as context.
Result<std::string> UnpackImage(Snapshotter& snapshotter, ContentStore& content,
                                const oci::Manifest& manifest,
                                const oci::ImageConfig& config);

}  // namespace kiln::solver

#endif  // KILN_SOLVER_LAYER_UNPACK_H_
