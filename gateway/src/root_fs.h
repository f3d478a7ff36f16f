// Read-only file access inside a directory tree (a solved ref's root) for
// ReadFile, ReadDir and StatFile. Paths are resolved as if the tree were the
// root filesystem: ".." stops at the root and absolute symlinks are taken
// relative to it (openat2 RESOLVE_IN_ROOT), so nothing outside can be named.
// Private to the gateway. Stateless and thread-safe.
#ifndef KILN_GATEWAY_ROOT_FS_H_
#define KILN_GATEWAY_ROOT_FS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fsutil/types/stat.pb.h"
#include "kiln/llb/status.h"

namespace kiln::gateway {

// The most a ReadFile answer carries: upstream's gRPC message limit (16 MiB)
// less room for the envelope. Larger reads must use ranges.
inline constexpr int64_t kMaxReadFileBytes = (16 << 20) - (64 << 10);

struct ByteRange {
  int64_t offset = 0;
  int64_t length = 0;  // bytes at most from offset (0: none)
};

// The bytes of regular file `path` (symlinks followed inside the root), or
// of `range` of it. Errors: NotFound; InvalidArgument for a non-regular file
// or a negative range; Internal for other I/O failures.
Result<std::string> ReadFileInRoot(const std::string& root,
                                   std::string_view path,
                                   std::optional<ByteRange> range);

// lstat of `path` (its last component is not followed), as fsutil's Stat
// with `path` set to the base name. Errors as ReadFileInRoot.
Result<fsutil::types::Stat> StatInRoot(const std::string& root,
                                       std::string_view path);

// The direct children of directory `path`, sorted by name, each with `path`
// set to its name; `pattern` (when not empty) is a glob the names must match.
// Errors: NotFound; InvalidArgument for a non-directory.
Result<std::vector<fsutil::types::Stat>> ReadDirInRoot(
    const std::string& root, std::string_view path, std::string_view pattern);

}  // namespace kiln::gateway

#endif  // KILN_GATEWAY_ROOT_FS_H_
