// Local sources (llb "local://" with local.includepatterns,
// local.excludepatterns and local.followpaths): copying a host directory
// into a snapshot directory, incrementally.
//
// SyncLocal makes `dest_dir` hold exactly the entries of `src_dir` that the
// patterns select: directories, regular files, symlinks (never followed,
// targets kept verbatim) and fifos, with their permission bits (setuid,
// setgid and sticky included) and mtimes (nanoseconds; directories' too);
// owners are kept when running as root. Hard links become independent
// copies. Sockets and device nodes are skipped.
//
// Selection, as BuildKit's fsutil walker: with include patterns only
// matching entries, and the directories leading to them, are copied;
// entries matching exclude patterns are not, except where a "!" exception
// re-includes them (an excluded directory is still walked when an exception
// may match below it). Follow paths name paths whose symlinks are resolved:
// each follow path and every symlink target along it (resolved inside
// `src_dir`) is added to the include patterns, so with follow paths only
// those paths (and the include patterns) are copied — as the Dockerfile
// frontend uses them, to fetch just the Dockerfile even when it is a
// symlink.
//
// Incremental: an existing destination entry is kept when it is the same
// type and, for a regular file, has the same size, mtime and mode as the
// source; a symlink is kept when its target is the same. With a
// `state_file`, a regular file is kept only when, besides, the source's
// inode, device and ctime are those recorded by the previous sync into this
// destination (so an edit that restores size and mtime is still copied);
// the state file is rewritten atomically after each successful sync, and a
// missing or corrupted one just makes every file copy once. Entries in
// `dest_dir` that are not selected are deleted. A file is replaced by writing a
// temporary file next to it and renaming it, so a reader never sees a
// half-written file.
//
// Thread safety: stateless; concurrent syncs into the same `dest_dir` race.
#ifndef KILN_SOLVER_LOCAL_SOURCE_H_
#define KILN_SOLVER_LOCAL_SOURCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "kiln/llb/status.h"

namespace kiln::solver {

struct LocalSyncOptions {
  std::vector<std::string> include_patterns;  // PatternMatcher syntax
  std::vector<std::string> exclude_patterns;  // PatternMatcher syntax
  std::vector<std::string> follow_paths;      // relative to src_dir
  // Where to record the source identities of the synced files (outside
  // `dest_dir`, one per destination); "" to compare metadata only.
  std::string state_file;
};

struct LocalSyncStats {
  uint64_t files_copied = 0;     // non-directory entries (re)written
  uint64_t bytes_copied = 0;     // bytes of regular files written
  uint64_t files_unchanged = 0;  // non-directory entries left as they were
  uint64_t files_deleted = 0;    // non-directory entries removed from dest
  uint64_t dirs = 0;             // directories in the result (root excluded)
};

// Syncs `src_dir` into `dest_dir` (created when missing; its own mode and
// mtime are left alone). Errors: NotFound when `src_dir` does not exist,
// FailedPrecondition when it is not a directory, InvalidArgument for bad
// patterns, Internal (or the errno mapping of fs_util) for I/O failures —
// then `dest_dir` may hold a partial result, which the next sync repairs.
Result<LocalSyncStats> SyncLocal(const std::string& src_dir,
                                 const std::string& dest_dir,
                                 const LocalSyncOptions& options = {});

// One entry SyncLocal would copy, with the source's lstat metadata.
struct LocalEntry {
  std::string path;   // relative to src_dir, slash-separated, no "." or ".."
  uint32_t mode = 0;  // st_mode (type and permission bits)
  uint32_t uid = 0;
  uint32_t gid = 0;
  int64_t size = 0;
  int64_t mtime_ns = 0;     // Unix nanoseconds
  std::string link_target;  // symlinks: the target, verbatim
};

// The entries SyncLocal(src_dir, …, options) would copy (state_file is
// ignored), in fsutil's walk order: depth first, the names of a directory
// sorted bytewise, a directory before what it holds — the order a session's
// DiffCopy sender lists them in. Errors as SyncLocal's (before it writes).
Result<std::vector<LocalEntry>> ListLocal(const std::string& src_dir,
                                          const LocalSyncOptions& options);

}  // namespace kiln::solver

#endif  // KILN_SOLVER_LOCAL_SOURCE_H_
