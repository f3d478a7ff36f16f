// The per-root file-hash cache behind ContentChecksummer: entries keyed by
// root-relative path, and their on-disk form. Private to solver-core.
//
// File format (text): "kiln-contenthash-v2\n", then one line per entry
// "<hex64> <size> <mtime_ns> <ctime_ns> <ino> <dev> <mode> <xattrs> <path>\n"
// (xattrs: 0 unknown, 1 none, 2 some; path
// last, with '\\' and '\n' escaped as "\\\\" and "\\n"), then
// "end <count> <sha256 hex of everything before this line>\n". Anything
// else parses as an empty cache.
//
// Thread safety: plain values; the owner serializes access.
#ifndef KILN_SOLVER_SRC_CONTENT_CHECKSUM_CACHE_H_
#define KILN_SOLVER_SRC_CONTENT_CHECKSUM_CACHE_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "kiln/solver/content_checksum.h"

namespace kiln::solver {

struct CachedFile {
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  uint64_t ino = 0;
  uint64_t dev = 0;
  uint32_t mode = 0;
  std::string hex;  // sha256 of the content, 64 lowercase hex digits
  // Whether the file had checksummed xattrs (security.capability, user.*)
  // when last looked at; unknown until then. Valid while SameFile holds:
  // setting or removing an xattr changes the ctime.
  enum class Xattrs : uint8_t { kUnknown = 0, kNone = 1, kSome = 2 };
  Xattrs xattrs = Xattrs::kUnknown;

  bool SameFile(const CachedFile& o) const {
    return size == o.size && mtime_ns == o.mtime_ns && ctime_ns == o.ctime_ns &&
           ino == o.ino && dev == o.dev && mode == o.mode;
  }
};

struct ContentChecksummer::RootCache {
  bool loaded = false;
  bool dirty = false;
  std::map<std::string, CachedFile> files;  // by root-relative path
};

namespace internal {

std::string SerializeChecksumCache(
    const std::map<std::string, CachedFile>& files);
// The entries of `data`; empty when it is not a valid cache file.
std::map<std::string, CachedFile> ParseChecksumCache(std::string_view data);

}  // namespace internal
}  // namespace kiln::solver

#endif  // KILN_SOLVER_SRC_CONTENT_CHECKSUM_CACHE_H_
