// Image archives: `docker save` / `docker load` for the embedded image store,
// in the two tar formats other tools exchange images with.
//
// OCI archive (kOci): a tar of an OCI image layout, as BuildKit's oci exporter
// (containerd's archive exporter) writes it and skopeo's `oci-archive:` and
// `podman load` read it:
//
//   oci-layout         {"imageLayoutVersion":"1.0.0"}
//   index.json         one descriptor per saved name, annotated with
//                      org.opencontainers.image.ref.name = the tag ("latest")
//                      and io.containerd.image.name = the full name
//                      ("docker.io/library/busybox:latest")
//   blobs/sha256/<hex> every blob the images reference, stored bytes as-is
//
// A multi-platform image keeps its index and the children the store holds (a
// single-platform pull of an index keeps only one child, as containerd does).
//
// Docker archive (kDocker): what `docker save` (25 and later) writes and
// `docker load`, skopeo's `docker-archive:` and `podman load` read:
//
//   manifest.json
//   [{"Config":"blobs/sha256/<hex>","RepoTags":["busybox:latest"],
//                        "Layers":["blobs/sha256/<diff_id hex>", …]}]
//   repositories       {"busybox":{"latest":"<top layer diff_id hex>"}}
//   blobs/sha256/<hex> the config as stored, and each layer UNCOMPRESSED (gzip
//                      and zstd layers are decompressed while writing; the
//                      file's sha256 is checked against the config's diff_id)
//   oci-layout, index.json and blobs/sha256/<hex> of an OCI manifest of those
//                      uncompressed layers (docker 25 writes the same), so the
//                      archive is an OCI layout as well
//
// Docker archives hold one platform per image: a multi-platform image saves
// the manifest of SaveOptions::platform (the host's by default).
//
// Saving is deterministic: entries sorted by name, mtime 0, uid/gid 0, no
// user or group names, so saving the same images twice gives identical bytes.
// Blobs are streamed from the content store (and re-verified against their
// digests on the way); no layer is held in memory.
//
// Thread safety: both functions may run concurrently with each other and
// with other users of the stores (the stores are thread- and process-safe).
#ifndef KILN_SOLVER_IMAGE_ARCHIVE_H_
#define KILN_SOLVER_IMAGE_ARCHIVE_H_

#include <optional>
#include <string>
#include <vector>

#include "kiln/llb/platform.h"
#include "kiln/llb/status.h"
#include "kiln/solver/image_store.h"

namespace kiln::solver {

enum class ArchiveFormat { kOci, kDocker };

struct SaveOptions {
  // kDocker: the platform to save from a multi-platform image (the host's
  // platform when unset). kOci: when set, each name is saved as the manifest
  // of this platform instead of its whole index.
  std::optional<llb::Platform> platform;
};

// Saves the named images (any reference form: "busybox" is
// "docker.io/library/busybox:latest") into one archive at `out_path`, or to
// standard output when `out_path` is "-". The file is written to a temporary
// file in the same directory and renamed into place only when complete, so a
// failed save never leaves a partial archive at `out_path`.
//
// Errors: InvalidArgument for no names or a malformed name; NotFound naming
// the first image the store does not have, a blob of it the content store
// lacks, or a platform it has no manifest for (an explicit
// SaveOptions::platform must match even a single-platform image); DataLoss when
// a stored blob no longer matches its digest or a layer does not decompress to
// its diff_id; Internal for I/O failures (with the path).
Status SaveImages(const ImageStore& store,
                  const std::vector<std::string>& names, ArchiveFormat format,
                  const std::string& out_path, const SaveOptions& options = {});

struct LoadOptions {
  // Names images the archive does not fully name. An OCI index entry whose
  // only name is a bare tag (ref.name "latest", as oci-archive writers may
  // leave it) becomes "<name>:<tag>" when `name` has no tag or digest, and
  // `name` itself otherwise. An entry without any name (a Docker archive
  // image with no RepoTags, an OCI entry without annotations) becomes `name`
  // ("latest" added when it has no tag). Entries that carry a full name keep
  // it. Empty: such entries make LoadImages fail with InvalidArgument.
  std::string name;
};

// Loads every image of the archive at `in_path` ("-" = standard input) into
// `store` and names it; returns the named records in archive order.
//
// The format is detected from the contents: an OCI archive (oci-layout +
// index.json, preferred when present, as containerd does) or a Docker
// archive (manifest.json; both the old `<id>/layer.tar` layout with its
// symlinks and the docker 25+ blobs/sha256 layout). The archive may itself be
// gzip- (or zstd-, xz-) compressed. Entries are read with libarchive; other
// entries (old `<id>/json`, `VERSION`, devices) are ignored.
//
// Each blobs/sha256/<hex> entry is verified against its name while it is
// written to the content store, and Docker layers against the config's
// diff_ids: nothing is ever stored under a wrong digest. Docker layers are
// stored as they are in the archive (uncompressed tars, as `ctr import` does)
// under a new OCI manifest with OCI media types (layer.v1.tar, or +gzip /
// +zstd for compressed layer files). Names are given only after every image
// of the archive was verified complete, so a damaged, incomplete or
// unnamable archive names nothing (verified blobs already written stay in
// the content store, unnamed, for garbage collection).
//
// Errors: InvalidArgument for an entry path that is absolute or escapes the
// archive ("../x"), an archive that is neither format, malformed JSON, an
// entry that cannot be named (see LoadOptions::name), or two entries giving
// one name to different images; DataLoss when a blob does not match its
// digest, a layer does not match its diff_id, or a referenced blob is missing
// from both the archive and the store; NotFound when `in_path` does not
// exist; Internal for I/O failures.
Result<std::vector<ImageRecord>> LoadImages(ImageStore& store,
                                            const std::string& in_path,
                                            const LoadOptions& options = {});

}  // namespace kiln::solver

#endif  // KILN_SOLVER_IMAGE_ARCHIVE_H_
