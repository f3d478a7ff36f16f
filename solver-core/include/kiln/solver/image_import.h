// Importing a root file system as a one-layer image (`kiln image import`),
// the way `docker import` does, but reproducibly: the same input always gives
// the same layer, config and manifest digests.
//
// The layer is a tar (pax, restricted to ustar headers where they suffice,
// as Go's archive/tar writes for BuildKit and containerd) with:
//   - entries in path order, directories before their contents (each
//     directory's children sorted bytewise, depth first, like `tar
//     --sort=name`); no entry for the root itself;
//   - numeric uid/gid as in the source, no user or group names;
//   - mtimes truncated to whole seconds and, with a source date epoch,
//     clamped to it; no atime or ctime;
//   - hardlinks as hardlinks (the first path in order carries the data),
//     symlinks, devices and fifos kept, sockets skipped;
//   - extended attributes kept as SCHILY.xattr records, except the host
//     specific "security.selinux" and the "system." namespace (ACLs).
// It is gzip-compressed with no file name and a zero mtime in the header.
// A tarball source is re-packed through the same writer, so its order,
// times and format are normalized the same way.
//
// Thread safety: ImportImage may run concurrently with itself and with any
// ImageStore/ContentStore use (the stores are safe across threads).
#ifndef KILN_SOLVER_IMAGE_IMPORT_H_
#define KILN_SOLVER_IMAGE_IMPORT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"
#include "kiln/solver/image_store.h"
#include "kiln/solver/oci.h"

namespace kiln::solver {

struct ImportOptions {
  // A root file system directory, or a tar file (plain, gzip or zstd; the
  // compression is detected from its content, not its name).
  std::string source;
  // Optional image config JSON (OCI or Docker) to start from; its
  // rootfs.diff_ids and history are replaced. Fields kiln does not model
  // (see oci::ImageConfig) are dropped.
  std::string config_json;
  // Default: the config's platform when it names one, else the host's.
  std::optional<llb::Platform> platform;
  // Reference to tag the image with (required), e.g. "busybox" or
  // "localhost:5000/app:1.0"; normalized as ImageStore does.
  std::string name;
  // RFC 3339 creation time for the config and its history entry. Default:
  // the source date epoch when there is one, else the current time (UTC).
  std::string created;
  // Overrides $SOURCE_DATE_EPOCH (seconds since the epoch). When either is
  // set, file mtimes later than it are clamped to it, and it is the default
  // `created`.
  std::optional<int64_t> source_date_epoch;
  // Comment of the history entry (empty: none). Its created_by is
  // "kiln image import".
  std::string history_comment;
};

// Packs `options.source` into one layer, stores the layer, the config and an
// OCI manifest in `store.content()` (streamed: no file is held in memory
// whole), tags `options.name` in `store`, and returns the manifest's
// descriptor (media type, digest, size, platform; no annotations).
//
// Errors: InvalidArgument for a missing name, an unparsable name, config,
// platform, created time or $SOURCE_DATE_EPOCH, or a tarball with unsafe
// paths ("..") or a hardlink to a path it does not hold; NotFound when the
// source does not exist; Internal for I/O and archive errors, naming the
// file.
Result<oci::Descriptor> ImportImage(ImageStore& store,
                                    const ImportOptions& options);

}  // namespace kiln::solver

#endif  // KILN_SOLVER_IMAGE_IMPORT_H_
