// Reading file system entries for layer diffs and tree exports: lstat,
// symlink target and xattrs of a path, turned into tar_writer.h entries.
// Private to solver-core.
//
// Thread safety: EntryMaker is confined to one thread; the functions are
// free functions over the file system.
#ifndef KILN_SOLVER_SRC_LAYER_DIFF_SCAN_H_
#define KILN_SOLVER_SRC_LAYER_DIFF_SCAN_H_

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kiln/llb/status.h"
#include "tar_writer.h"

namespace kiln::solver::internal {

// What a path is, as lstat and friends tell it.
struct FileMeta {
  struct stat st {};
  std::string link;  // symlink target
  // Kept xattrs (KeepXattr, and never trusted.overlay.*), sorted by name.
  std::vector<std::pair<std::string, std::string>> xattrs;
};

// lstat + readlink + xattrs of `path`. Internal naming the path on failure.
Result<FileMeta> ScanPath(const std::string& path);

// The names in directory `path`, sorted bytewise.
Result<std::vector<std::string>> SortedNames(const std::string& path);

// Whether two entries of the same path are the same for a layer diff (see
// layer_diff.h: containerd's sameFile plus symlink targets and xattrs);
// `a_path`/`b_path` are read only to compare contents.
Result<bool> SameFile(const FileMeta& a, const std::string& a_path,
                      const FileMeta& b, const std::string& b_path);

// Makes tar entries of scanned paths, giving regular files that share an
// inode one data_id (so FinalizeEntries turns them into hardlinks).
class EntryMaker {
 public:
  // The entry for `rel` (relative path), or nullopt for a socket.
  std::optional<LayerEntry> Make(const std::string& rel, const FileMeta& meta);

 private:
  std::map<std::pair<dev_t, ino_t>, int64_t> inodes_;
};

// A whiteout entry for `rel` ("DIR/.wh.NAME" or "DIR/.wh..wh..opq").
LayerEntry WhiteoutEntry(const std::string& rel);

// Streams regular files' bytes from `root`/<entry path>.
DataSource FileDataSource(const std::string& root);

// Every entry under `root` (not root itself), finalized (sorted, hardlinks
// grouped).
Result<std::vector<LayerEntry>> ScanTree(const std::string& root);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_LAYER_DIFF_SCAN_H_
