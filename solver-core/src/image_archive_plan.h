// What a save writes, planned before the archive file is created (private to
// solver-core): every tar entry by path, sorted, so the archive is
// deterministic and planning errors leave no file behind.
//
// Thread safety: plans are values; the functions only read the stores.
#ifndef KILN_SOLVER_SRC_IMAGE_ARCHIVE_PLAN_H_
#define KILN_SOLVER_SRC_IMAGE_ARCHIVE_PLAN_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "image_archive_io.h"
#include "kiln/llb/digest.h"
#include "kiln/llb/reference.h"
#include "kiln/llb/status.h"
#include "kiln/solver/image_archive.h"
#include "kiln/solver/image_store.h"
#include "kiln/solver/oci.h"

namespace kiln::solver::internal {

struct ArchiveRecord {
  enum class Kind { kDirectory, kBytes, kBlob };
  Kind kind = Kind::kDirectory;
  std::string bytes;  // kBytes
  // kBlob: the stored blob to copy, decompressed with `compression`; the
  // archive gets `size` bytes whose sha256 must be `content` (the blob's
  // digest, or the diff_id of a decompressed layer).
  Digest blob;
  oci::Compression compression = oci::Compression::kNone;
  int64_t size = 0;
  Digest content;
};

// Path in the archive → entry; std::map keeps the byte order Go's sort uses.
using ArchivePlan = std::map<std::string, ArchiveRecord>;

// One saved name: the store's record and its parsed reference.
struct SavedName {
  ImageRecord record;
  llb::ImageReference ref;
};

std::string BlobPath(const Digest& digest);  // "blobs/sha256/<hex>"
void AddDirectories(ArchivePlan* plan);
void AddBytes(ArchivePlan* plan, const std::string& path, std::string bytes);
// Adds the document as a blob and returns its descriptor (digest, size).
oci::Descriptor AddDocument(ArchivePlan* plan, std::string_view media_type,
                            std::string bytes);
// A stored blob copied as-is; NotFound when absent, DataLoss when its size
// differs from `want_size` (when >= 0).
Status AddStoredBlob(const ContentStore& content, const Digest& digest,
                     int64_t want_size, ArchivePlan* plan);

// The org.opencontainers.image.ref.name of a name, as containerd's archive
// exporter writes it: the part after the repository ("latest",
// "v1@sha256:…", "@sha256:…").
std::string OciRefName(const llb::ImageReference& ref);
// The index.json descriptor for `name`: `target` with the name annotations.
oci::Descriptor NamedDescriptor(oci::Descriptor target,
                                const llb::ImageReference& ref);

// The manifest of `name` for options.platform (the host's when unset); with
// an explicit platform, NotFound unless the image's config matches it.
Result<ResolvedImage> ResolveForSave(const ImageStore& store,
                                     const SavedName& name,
                                     const SaveOptions& options);

// Plans an OCI archive / a Docker archive of `names` (deduplicated, in order).
Status PlanOciArchive(const ImageStore& store,
                      const std::vector<SavedName>& names,
                      const SaveOptions& options, ArchivePlan* plan);
Status PlanDockerArchive(const ImageStore& store,
                         const std::vector<SavedName>& names,
                         const SaveOptions& options, ArchivePlan* plan);

// Writes the planned entries, verifying every blob's bytes on the way.
Status WritePlan(const ContentStore& content, const ArchivePlan& plan,
                 TarWriter* tar);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_IMAGE_ARCHIVE_PLAN_H_
