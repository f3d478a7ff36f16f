// Where a layer's entries come from: a directory tree on disk, or a tarball
// re-read entry by entry. Both produce LayerEntry lists (see tar_writer.h)
// and stream each file's bytes on demand, so nothing is held in memory whole.
// Private to solver-core.
//
// Thread safety: a LayerSource belongs to one thread.
#ifndef KILN_SOLVER_SRC_LAYER_SOURCE_H_
#define KILN_SOLVER_SRC_LAYER_SOURCE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "kiln/llb/status.h"
#include "tar_writer.h"

namespace kiln::solver::internal {

class LayerSource {
 public:
  virtual ~LayerSource() = default;

  // Entries in source order (not yet finalized).
  std::vector<LayerEntry>& entries() { return entries_; }
  // Streams the bytes of a kFile entry this source produced.
  virtual Status Read(const LayerEntry& entry, const DataSink& sink) = 0;

 protected:
  std::vector<LayerEntry> entries_;
};

// Walks `root` (not following symlinks; sockets skipped; the root itself
// not listed). Regular files with several links become one data_id. mtimes
// later than `clamp_mtime` are clamped to it. Errors name the path (Internal
// for I/O, NotFound for a missing root).
Result<std::unique_ptr<LayerSource>> ScanDirectory(
    const std::string& root, std::optional<int64_t> clamp_mtime);

// Reads the tarball at `path` (compression detected by content). File
// bytes are spooled to an anonymous temporary file under `spool_dir`.
// Paths are made relative ("./a", "/a" → "a"); ".." components and
// hardlinks to paths not seen before are InvalidArgument; later entries for
// a path replace earlier ones, as extraction would.
Result<std::unique_ptr<LayerSource>> ScanTarball(
    const std::string& path, const std::string& spool_dir,
    std::optional<int64_t> clamp_mtime);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_LAYER_SOURCE_H_
