// Deterministic layer tars: a list of file system entries, normalized and
// sorted, written as a pax tar and gzip-compressed straight into the content
// store. Private to solver-core (image import today; exporters later).
//
// Thread safety: free functions on caller-owned values.
#ifndef KILN_SOLVER_SRC_TAR_WRITER_H_
#define KILN_SOLVER_SRC_TAR_WRITER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"
#include "kiln/solver/content_store.h"
#include "kiln/solver/oci.h"

namespace kiln::solver::internal {

enum class EntryType {
  kFile,
  kDir,
  kSymlink,
  kHardlink,
  kCharDevice,
  kBlockDevice,
  kFifo
};

struct LayerEntry {
  std::string path;  // relative, '/'-separated, no "./" prefix, no trailing '/'
  EntryType type = EntryType::kFile;
  uint32_t mode = 0;  // permission bits with setuid, setgid and sticky (07777)
  int64_t uid = 0;
  int64_t gid = 0;
  int64_t mtime = 0;  // whole seconds since the epoch
  int64_t size = 0;   // kFile only
  std::string link;   // kSymlink target, or kHardlink's earlier entry path
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;  // sorted by name
  // kFile: which content the bytes are; entries with the same id are one
  // inode (hardlinks). Ids are the DataSource's, opaque here.
  int64_t data_id = -1;
};

// Whether an extended attribute is kept in layers: host-specific ones
// (security.selinux, system.* ACLs) are not.
bool KeepXattr(std::string_view name);

// Component-wise path order: "a" < "a/b" < "a.txt", i.e. each directory's
// children sorted bytewise, depth first (as `tar --sort=name` walks).
bool PathLess(std::string_view a, std::string_view b);

// Sorts `entries` with PathLess and turns each group of kFile entries that
// share a data_id into one kFile (the first in order) and kHardlinks to it.
void FinalizeEntries(std::vector<LayerEntry>* entries);

// Streams the bytes of a kFile entry: must call `sink` with exactly
// entry.size bytes in total.
using DataSink = std::function<Status(std::string_view)>;
using DataSource =
    std::function<Status(const LayerEntry& entry, const DataSink& sink)>;

struct LayerBlob {
  Digest diff_id;  // sha256 of the uncompressed tar
  Digest digest;   // sha256 of the gzip blob, as stored
  int64_t size = 0;
};

// Writes `entries` (finalized) as a tar compressed with `compression`
// (gzip: no name, zero mtime), passing the bytes to `out` as they come;
// `diff_id` (if not null) gets the sha256 of the uncompressed tar. Nothing
// is held in memory beyond libarchive's buffers. Errors: what `data` or
// `out` return, archive errors (Internal).
Status WriteTarStream(const std::vector<LayerEntry>& entries,
                      const DataSource& data, oci::Compression compression,
                      const DataSink& out, Digest* diff_id);

// WriteTarStream into a new blob of `content`.
Result<LayerBlob> WriteLayer(ContentStore& content,
                             const std::vector<LayerEntry>& entries,
                             const DataSource& data,
                             oci::Compression compression);

// Writes `entries` (finalized) as a tar, gzips it (no name, zero mtime) and
// commits the result to `content`. Errors: what `data` returns, archive
// errors (Internal), content store errors.
Result<LayerBlob> WriteGzipLayer(ContentStore& content,
                                 const std::vector<LayerEntry>& entries,
                                 const DataSource& data);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_TAR_WRITER_H_
