// Private pieces of the FileOp executor (file_op.h): in-root path
// resolution, filepath.Match and wildcard expansion, owner resolution,
// the shared metadata helpers and the per-action entry points.
//
// Relative paths here are slash-joined components under a root ("" = the
// root itself), never with "." or "..".
//
// Thread safety: free functions.
#ifndef KILN_SOLVER_SRC_FILE_OP_INTERNAL_H_
#define KILN_SOLVER_SRC_FILE_OP_INTERNAL_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kiln/llb/status.h"
#include "kiln/solver/file_op.h"

namespace kiln::solver::internal {

// "/" + `rel` (spelled out: GCC 12 warns falsely on "/" + std::string).
std::string Rooted(std::string_view rel);

// `rel` under `root` as a path ("root" for "").
std::string UnderRoot(const std::string& root, const std::string& rel);

// Resolves `path` inside `root`: symlinks in every component but the last
// are followed in root (the last too when `follow_last`), ".." stops at the
// root. Missing components are fine (kept lexically; a missing component
// cannot be followed). Errors: FailedPrecondition for a symlink loop
// (more than 255 links) or a non-directory in the middle of the path
// ("<path>: not a directory").
Result<std::string> ResolveInRoot(const std::string& root,
                                  std::string_view path, bool follow_last);

// Go's filepath.Match for one path (`*`, `?`, `[a-z]`, `[^x]`, `\` escapes;
// wildcards never match '/'). InvalidArgument for a malformed pattern.
Result<bool> MatchPattern(std::string_view pattern, std::string_view name);
bool HasMeta(std::string_view pattern);

// filepath.Glob of `pattern` inside `root` (each component resolved in
// root; symlinked directories are followed; the last component is followed
// when `follow_last`): the matching existing paths as absolute in-root
// paths ("/a/b"), sorted.
Result<std::vector<std::string>> ExpandWildcards(const std::string& root,
                                                 std::string_view pattern,
                                                 bool follow_last);

// Owner to set, resolved from a ChownOpt.
struct Owner {
  uid_t uid = 0;
  gid_t gid = 0;
};
// nullopt without an owner in the action.
Result<std::optional<Owner>> ResolveOwner(const pb::ChownOpt* opt,
                                          const FileActionDirs& dirs);

// Sets atime and mtime of `path` (not following a symlink) to `ns`.
Status SetTimes(const std::string& path, int64_t ns);
// lchown, as an error "chown <path>: ...".
Status Lchown(const std::string& path, const Owner& owner);
// errno as a Status "<path>: <strerror>", keeping the code mapping of
// fs_util's ErrnoStatus.
Status PathError(const std::string& path, int err);

// mkdir -p of in-root `rel` under `root`: missing directories are created
// with `mode` (exactly, not umask-masked), `owner` and `ns` (-1: none).
// `shown` names the path in errors.
Status MakeDirsInRoot(const std::string& root, const std::string& rel,
                      mode_t mode, const std::optional<Owner>& owner,
                      int64_t ns, const std::string& shown);

Status ApplyCopy(const pb::FileActionCopy& copy, const FileActionDirs& dirs);

// ADD's archive handling (attemptUnpackDockerCompatibility), as BuildKit's
// unpack(): when `src_full` is a regular file holding a tar stream
// (uncompressed, gzip or zstd), extracts it into the directory `dest` (an
// in-root path, created with `owner` and `ns` when missing) and sets
// `*unpacked`. Not an archive: `*unpacked` stays false. Entries keep their
// own owners and times; tar whiteout entries (.wh.*) are applied as
// ApplyLayer does (Docker would write them as plain files). Unimplemented
// for bzip2, xz and other compressions.
Status MaybeUnpack(const std::string& src_full, const std::string& dst_root,
                   const std::string& dest, const std::optional<Owner>& owner,
                   int64_t ns, bool* unpacked);

}  // namespace kiln::solver::internal

#endif  // KILN_SOLVER_SRC_FILE_OP_INTERNAL_H_
