// What a load read from an archive before it names anything (private to
// solver-core): the small metadata documents in memory, every other regular
// file already verified into the content store, and the links between
// entries (old docker archives link duplicate layers).
//
// Thread safety: values; the functions use the thread-safe stores.
#ifndef KILN_SOLVER_SRC_IMAGE_ARCHIVE_LOAD_H_
#define KILN_SOLVER_SRC_IMAGE_ARCHIVE_LOAD_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"
#include "kiln/solver/content_store.h"
#include "kiln/solver/image_archive.h"
#include "kiln/solver/oci.h"

namespace kiln::solver::internal {

struct StagedFile {
  Digest digest;
  int64_t size = 0;
  oci::Compression compression =
      oci::Compression::kNone;  // from its first bytes
};

struct StagedArchive {
  std::map<std::string, std::string>
      documents;  // oci-layout, index.json, manifest.json, …
  std::map<std::string, StagedFile> files;   // by cleaned path
  std::map<std::string, std::string> links;  // link path → target path

  // The file at `path`, following links; nullptr when the archive has none.
  const StagedFile* Find(const std::string& path) const;
  const std::string* Document(const std::string& name) const;
};

// An image to name once the whole archive checked out.
struct NamedTarget {
  std::string name;  // full normalized reference
  oci::Descriptor target;
};

// The full name for an archive entry: its io.containerd.image.name, else its
// org.opencontainers.image.ref.name (a bare tag is combined with
// options.name), else options.name; `what` names the entry in errors.
Result<std::string> EntryName(const std::string& image_name,
                              const std::string& ref_name,
                              const LoadOptions& options,
                              const std::string& what);

// The images of a Docker archive's manifest.json: configs and layers checked
// against each other (DataLoss on a diff_id mismatch or a missing file), an
// OCI manifest written for each, one target per RepoTag.
Result<std::vector<NamedTarget>> DockerArchiveTargets(
    ContentStore& content, const StagedArchive& staged,
    const LoadOptions& options);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_IMAGE_ARCHIVE_LOAD_H_
