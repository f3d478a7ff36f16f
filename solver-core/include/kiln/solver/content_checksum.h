// Content checksums of paths in a directory tree, for COPY and local source
// cache keys (DESIGN.md "Cache keys"), with an incremental per-root cache:
// a file whose (size, mtime, ctime, inode, device, mode) are unchanged since
// it was hashed is not read again, so a no-op re-checksum costs one
// metadata walk.
//
// What the digest covers: for every entry its owner (uid:gid) and its
// security.capability and user.* extended attributes; for a regular file
// its mode (type and permission bits, setuid/setgid/sticky included) and
// content; for a symlink its target; for a directory its mode and,
// recursively, its children's names and digests (sorted by name); for other
// types (fifo, device, socket) the type, mode and device number. So a chown
// or setcap that keeps the bytes still changes the digest, as in BuildKit's
// content hashes. Not covered: mtimes, atimes, other xattrs, and the name of
// `path` itself. So the digest of one path never depends on files outside
// it.
//
// Cache persistence: with a cache directory, each root's cache is the file
// "<cache_dir>/<sha256 of the root path>.contenthash", loaded on the first
// Checksum() of that root and rewritten atomically (write temporary, fsync,
// rename) after a call that changed it. A cache file that is missing,
// truncated, corrupted or of another version is ignored and rebuilt: it can
// cost reads, never change a digest. Files modified within the last 100 ms
// before they are read (mtime or ctime) are hashed but not cached, since a
// further write in the same timestamp tick would go unnoticed.
//
// Thread safety: a ContentChecksummer may be used from several threads; its
// calls are serialized by an internal mutex. Two processes sharing a cache
// directory do not corrupt it (atomic replacement) but may undo each
// other's additions.
#ifndef KILN_SOLVER_CONTENT_CHECKSUM_H_
#define KILN_SOLVER_CONTENT_CHECKSUM_H_

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "kiln/llb/digest.h"
#include "kiln/llb/status.h"

namespace kiln::solver {

struct ChecksumOptions {
  // Follow a symlink at `path` itself (resolved inside the root). Symlinks
  // in the middle of `path` are always resolved inside the root; symlinks
  // below `path` are never followed (their targets are hashed).
  bool follow_links = false;
  // PatternMatcher patterns, relative to `path`, for a directory `path`:
  // with include patterns only matching entries (and the directories that
  // lead to them) count; entries matching exclude patterns do not count.
  std::vector<std::string> include_patterns;
  std::vector<std::string> exclude_patterns;
};

struct ChecksumStats {
  uint64_t files_read = 0;    // regular files whose content was hashed
  uint64_t bytes_read = 0;    // bytes of those files
  uint64_t cache_hits = 0;    // regular files whose cached hash was used
  uint64_t cache_writes = 0;  // cache files written
};

class ContentChecksummer {
 public:
  // `cache_dir` holds the per-root cache files (created when needed); ""
  // keeps the cache in memory only.
  explicit ContentChecksummer(std::string cache_dir = "");
  ~ContentChecksummer();
  ContentChecksummer(const ContentChecksummer&) = delete;
  ContentChecksummer& operator=(const ContentChecksummer&) = delete;

  // The digest of `path` ("", "." or "/" for the root itself; a leading
  // '/' is relative to the root; ".." cannot leave the root) inside the
  // directory `root`.
  // Errors: NotFound when `path` (or `root`) does not exist;
  // InvalidArgument for bad patterns or a symlink loop; Internal for I/O
  // failures. A failure to write the cache file is not an error (the
  // digest is still right).
  Result<Digest> Checksum(const std::string& root, const std::string& path,
                          const ChecksumOptions& options = {});

  // Counters summed over all calls since construction or ResetStats().
  ChecksumStats stats() const;
  void ResetStats();

  struct RootCache;  // implementation detail

 private:
  std::string cache_dir_;
  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<RootCache>> roots_;
  ChecksumStats stats_;
};

}  // namespace kiln::solver

#endif  // KILN_SOLVER_CONTENT_CHECKSUM_H_
